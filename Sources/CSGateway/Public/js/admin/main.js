// Supervisor dashboard: sign-in, then the live view, satisfaction, broadcasts, canned responses
// and agent accounts. The WebSocket brings the `conversations` frame (and notifications).

import { createApi, wsURL } from '../lib/api.js';
import { $ } from '../lib/dom.js';
import { NotificationList } from '../lib/notifications.js';
import { ChatSocket, newFrameId } from '../lib/socket.js';
import { bindSignInForm, keepFresh, signOut, storedSignIn } from '../lib/staff-auth.js';
import { toast } from '../lib/toasts.js';
import { setupAgents } from './agents.js';
import { setupBroadcast } from './broadcast.js';
import { setupCanned } from './canned.js';
import { setupCsat } from './csat.js';
import { renderConversations, startLivePolling } from './live.js';

const base = location.origin;
let auth = storedSignIn();
const api = createApi(base, () => auth?.token);
let socket = null;

bindSignInForm($('#sign-in'), api, (answer) => { auth = answer; start(); }, { requireRole: 'supervisor' });
if (auth?.agent.role === 'supervisor') start();

function start() {
  $('#sign-in').hidden = true;
  $('#dashboard').hidden = false;
  $('#me').hidden = false;
  $('#sections').hidden = false;
  $('#me-name').textContent = auth.agent.name;
  const notifications = new NotificationList($('#toasts'), (frame) => socket.send(frame));
  socket = new ChatSocket({
    url: wsURL(base),
    token: () => auth.token,
    resumePoints: () => [],
    onFrame: (frame) => {
      if (frame.type === 'conversations') renderConversations(frame.items, closeConversation);
      else if (frame.type === 'notification') notifications.receive(frame);
      else if (frame.type === 'error') toast(`${frame.code}: ${frame.message}`, { kind: 'error' });
    },
    onState: (state, detail) => {
      const texts = { connecting: 'Connecting…', open: 'Connected', stopped: '' };
      $('#connection').textContent = state === 'waiting' ? `Reconnecting in ${Math.ceil(detail.delay / 1000)} s…` : texts[state] ?? '';
      if (state === 'unauthorized') { signOut(); location.reload(); }
    },
  });
  socket.start();
  // Renew the hour-long token before it ends; a refused renewal (account removed) signs out.
  keepFresh(api, () => auth, (answer) => { auth = answer; }, () => { socket?.stop(); signOut(); location.reload(); });
  startLivePolling(api);
  setupCsat(api);
  setupBroadcast(api);
  setupCanned(api);
  setupAgents(api, auth.agent);
}

/** The list comes with each connection: reconnect to get a fresh one. */
function refreshConversations() {
  socket.stop();
  socket.start();
}

function closeConversation(item) {
  if (!confirm(`Close the conversation with ${item.customer?.name ?? 'this customer'}?`)) return;
  socket.send({ type: 'close', id: newFrameId('s'), conversationId: item.conversationId });
  setTimeout(refreshConversations, 800);
}

$('#refresh-conversations').addEventListener('click', refreshConversations);
$('#sign-out').addEventListener('click', () => { socket?.stop(); signOut(); location.reload(); });
