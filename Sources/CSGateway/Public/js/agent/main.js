// Agent console: sign-in, presence, conversations with unread counts, replies with canned
// responses, typing, read receipts, transfer and close, notifications, new-conversation alerts.

import { createApi, wsURL } from '../lib/api.js';
import { configureAttachments } from '../lib/attachments.js';
import { beep, unlockAudio } from '../lib/beep.js';
import { $, replace } from '../lib/dom.js';
import { NotificationList } from '../lib/notifications.js';
import { ChatSocket } from '../lib/socket.js';
import { bindSignInForm, keepFresh, signOut, storedSignIn } from '../lib/staff-auth.js';
import { toast } from '../lib/toasts.js';
import { bindActions } from './actions.js';
import { CannedPicker } from './canned.js';
import { Conversations } from './conversations.js';
import { insertEntry, markRead, renderHeader, renderList } from './view.js';

const base = location.origin;
let auth = storedSignIn();
const api = createApi(base, () => auth?.token);
configureAttachments({ base, token: () => auth?.token });

let socket = null;
let stopRenewing = null;
let store = null;
let selectedId = null;
let typingTimer = null;
let titleAlert = 0;
const canned = new CannedPicker($('#reply'), $('#canned'));
const notifications = new NotificationList($('#toasts'), (frame) => socket?.send(frame));

bindSignInForm($('#sign-in'), api, (answer) => { unlockAudio(); auth = answer; start(); });
$('#sign-in').addEventListener('click', unlockAudio);
if (auth) start();

function start() {
  const me = auth.agent;
  store = new Conversations(me);
  $('#sign-in').hidden = true;
  $('#console').hidden = false;
  $('#me').hidden = false;
  $('#me-name').textContent = `${me.name} (${me.role})`;
  socket = new ChatSocket({
    url: wsURL(base),
    token: () => auth.token,
    resumePoints: () => store.resumePoints(),
    onFrame,
    onState: (state, detail) => {
      const texts = { connecting: 'Connecting…', open: 'Connected', stopped: '' };
      $('#connection').textContent = state === 'waiting' ? `Reconnecting in ${Math.ceil(detail.delay / 1000)} s…` : texts[state] ?? '';
      if (state === 'unauthorized') logout('Your session has expired; sign in again.');
    },
  });
  socket.start();
  // The WebSocket reads auth.token at each (re)connect, so it picks the renewed token up.
  stopRenewing = keepFresh(api, () => auth, (answer) => { auth = answer; },
    () => logout('Your session has ended; sign in again.'));
  api.get('/v1/canned-responses').then((responses) => canned.setResponses(responses), () => {});
  document.body.addEventListener('click', unlockAudio, { once: true });
}

function logout(message) {
  stopRenewing?.();
  socket?.stop();
  signOut();
  sessionStorage.removeItem('cs-presence');
  auth = null;
  if (message) sessionStorage.setItem('cs-message', message);
  location.reload();
}

function onFrame(frame) {
  switch (frame.type) {
    case 'hello': {
      // `away` survives a reconnect on the server; `offline` does not, so it is sent again.
      const chosen = sessionStorage.getItem('cs-presence');
      $('#presence').value = chosen || 'online';
      if (chosen === 'offline') socket.send({ type: 'presence', status: chosen });
      break;
    }
    case 'conversations':
      store.reset(frame.items);
      refreshList();
      if (selectedId) select(selectedId);
      break;
    case 'message':
    case 'conversation.queued':
    case 'conversation.assigned':
    case 'conversation.transferred':
    case 'conversation.closed':
      onEntry(frame);
      break;
    case 'typing':
      if (frame.conversationId === selectedId) showTyping(frame.from?.name);
      break;
    case 'read':
      if (frame.role !== 'customer' || !store.get(frame.conversationId)) break;
      store.get(frame.conversationId).customerRead = frame.seq;
      if (frame.conversationId === selectedId) markRead($('#log'), frame.seq);
      break;
    case 'presence':
      $('#presence').value = frame.status;
      break;
    case 'notification':
      notifications.receive(frame);
      break;
    case 'error':
      toast(`${frame.code}: ${frame.message}`, { kind: 'error' });
      break;
    default:
      break;
  }
}

function onEntry(entry) {
  const { conversation, isNew, added } = store.apply(entry);
  if (added === 'duplicate' && !isNew) return;
  if (added === 'gap') socket.send({ type: 'resume', conversations: [{ conversationId: conversation.id, lastSeq: conversation.timeline.contiguousSeq }] });
  if (entry.type === 'message' && entry.from?.role === 'customer' && added !== 'duplicate') {
    if (conversation.id === selectedId && document.visibilityState === 'visible') sendRead(conversation);
    else conversation.unread += 1;
  }
  if (isNew) alertNew(conversation);
  if (conversation.id === selectedId) {
    for (const past of entry.history ?? []) insertEntry($('#log'), past, auth.agent);
    insertEntry($('#log'), entry, auth.agent);
    renderHeader(conversation);
    if (entry.type === 'message' && entry.from?.role === 'customer') clearTyping();
  }
  refreshList();
}

function alertNew(conversation) {
  beep();
  toast(`New conversation with ${conversation.customer?.name ?? 'a customer'}`, { kind: 'alert' });
  titleAlert += 1;
  document.title = `(${titleAlert}) New conversation – Agent console`;
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  titleAlert = 0;
  document.title = 'Agent console';
  const conversation = selectedId && store.get(selectedId);
  if (conversation) sendRead(conversation);
});

function refreshList() {
  renderList($('#conversations'), store.list(), selectedId, select);
}

async function select(id) {
  selectedId = id;
  titleAlert = 0;
  document.title = 'Agent console';
  const conversation = store.get(id);
  $('#no-selection').hidden = true;
  $('#conversation-body').hidden = false;
  renderHeader(conversation);
  clearTyping();
  drawLog(conversation);
  refreshList();
  if (!conversation.loaded) {
    try {
      await loadHistory(conversation);
      if (selectedId === id) drawLog(conversation);
    } catch (error) {
      toast(`History not available: ${error.message}`, { kind: 'error' });
    }
  }
  sendRead(conversation);
  refreshList();
}

function drawLog(conversation) {
  const log = $('#log');
  replace(log);
  for (const entry of conversation.timeline.sorted()) insertEntry(log, entry, auth.agent);
  if (conversation.customerRead) markRead(log, conversation.customerRead);
}

async function loadHistory(conversation) {
  let path = `/v1/conversations/${encodeURIComponent(conversation.id)}/messages?after=0&limit=200`;
  while (path) {
    const page = await api.get(path);
    for (const entry of page.entries) store.apply(entry);
    path = page.next;
  }
  conversation.loaded = true;
}

function sendRead(conversation) {
  const last = conversation.timeline.lastSeq;
  conversation.unread = 0;
  if (last > conversation.readSent && conversation.status === 'assigned') {
    conversation.readSent = last;
    socket.send({ type: 'read', conversationId: conversation.id, seq: last });
  }
}

function showTyping(name) {
  $('#typing').textContent = `${name ?? 'The customer'} is typing…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(clearTyping, 5000);
}

function clearTyping() {
  clearTimeout(typingTimer);
  $('#typing').textContent = '';
}

bindActions({
  selected: () => selectedId,
  send: (frame) => socket.send(frame),
  dismiss: () => {
    store.byId.delete(selectedId);
    selectedId = null;
    $('#conversation-body').hidden = true;
    $('#no-selection').hidden = false;
    refreshList();
  },
});

$('#presence').addEventListener('change', (event) => {
  sessionStorage.setItem('cs-presence', event.target.value);
  socket.send({ type: 'presence', status: event.target.value });
});
$('#sign-out').addEventListener('click', () => logout());

const flash = sessionStorage.getItem('cs-message');
if (flash) {
  sessionStorage.removeItem('cs-message');
  $('#sign-in .form-error').textContent = flash;
}
