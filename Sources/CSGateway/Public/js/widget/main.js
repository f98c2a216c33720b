// The customer widget: session, WebSocket, and what each server frame changes on screen.

import { createApi, wsURL } from '../lib/api.js';
import { attachControls, configureAttachments, uploadFile } from '../lib/attachments.js';
import { h, replace } from '../lib/dom.js';
import { waitText } from '../lib/format.js';
import { NotificationList } from '../lib/notifications.js';
import { ChatSocket, newFrameId } from '../lib/socket.js';
import { Timeline } from '../lib/timeline.js';
import { offlineForm, startForm } from './forms.js';
import { MessageLog } from './log.js';
import { RatingPanel } from './rating.js';
import { VisitorSession } from './session.js';
import { buildView } from './view.js';

const TYPING_SHOWN_MS = 5000;

export function mountWidget({ gateway, title = 'Support' }) {
  const host = document.createElement('div');
  host.id = 'cs-chat-widget';
  document.body.append(host);
  const widget = new Widget(host.attachShadow({ mode: 'open' }), gateway, title);
  widget.init();
  return widget;
}

class Widget {
  constructor(root, gateway, title) {
    this.view = buildView(root, { gateway, title });
    this.gateway = gateway;
    this.session = new VisitorSession(createApi(gateway), gateway);
    this.api = createApi(gateway, () => this.session.token);
    this.socket = new ChatSocket({
      url: wsURL(gateway),
      token: () => this.session.token,
      resumePoints: () => (this.timeline ? [[this.timeline.conversationId, this.timeline.lastSeq]] : []),
      onFrame: (frame) => this.onFrame(frame),
      onState: (state, detail) => this.onSocketState(state, detail),
    });
    this.log = new MessageLog(this.view.log);
    this.rating = new RatingPanel({ container: this.view.forms, api: this.api, send: (frame) => this.socket.send(frame) });
    this.notifications = new NotificationList(this.view.notices, (frame) => this.socket.send(frame));
    this.timeline = null;
    this.unread = 0;
    this.agentName = null;
    this.typingTimer = null;
    this.lastTypingSent = 0;
    this.offlineShown = false;
  }

  init() {
    const v = this.view;
    v.launcher.addEventListener('click', () => this.toggle());
    v.closePanel.addEventListener('click', () => this.toggle(false));
    v.panel.addEventListener('keydown', (event) => { if (event.key === 'Escape') this.toggle(false); });
    v.composer.addEventListener('submit', (event) => { event.preventDefault(); this.sendMessage(); });
    v.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); this.sendMessage(); }
    });
    v.input.addEventListener('input', () => this.sendTyping());
    v.endChat.addEventListener('click', () => this.endChat());
    configureAttachments({ base: this.gateway, token: () => this.session.token });
    this.attach = attachControls(v.panel, (file) => this.sendFile(file));
    v.composer.prepend(this.attach.button, this.attach.input);
    v.composer.after(this.attach.progress);
    window.addEventListener('online', () => this.socket.reconnectNow());
    document.addEventListener('visibilitychange', () => this.markRead());
    if (this.session.token) this.startSession().catch(() => this.showStart());
    else this.showStart();
  }

  toggle(open = this.view.panel.hidden) {
    const v = this.view;
    v.panel.hidden = !open;
    v.launcher.setAttribute('aria-expanded', String(open));
    v.launcher.hidden = open;
    if (open) {
      this.unread = 0;
      this.updateBadge();
      this.markRead();
      const first = v.forms.querySelector('input, textarea') || (!v.composer.hidden && v.input);
      (first || v.closePanel).focus();
    } else {
      v.launcher.focus();
    }
  }

  showStart() {
    replace(this.view.forms, startForm(async (name) => {
      await this.startSession(name);
      this.view.input.focus();
    }));
  }

  async startSession(name) {
    await this.session.open(name);
    replace(this.view.forms);
    this.view.composer.hidden = false;
    if (this.session.conversationId) this.switchTo(this.session.conversationId);
    this.socket.start();
  }

  onSocketState(state, detail) {
    const connection = this.view.connection;
    if (state === 'waiting') {
      connection.textContent = `Connection lost. Reconnecting in ${Math.ceil(detail.delay / 1000)} s…`;
    } else if (state === 'unauthorized') {
      connection.textContent = 'Session expired; starting a new one…';
      this.session.data.token = null; // a new visitor: the old conversations are not theirs
      if (this.timeline) this.log.freeze();
      this.timeline = null;
      this.session.open(this.session.name).then(() => this.socket.start(), () => this.showStart());
    } else {
      connection.textContent = state === 'connecting' ? 'Connecting…' : '';
    }
    this.view.panel.classList.toggle('offline', state !== 'open');
  }

  onFrame(frame) {
    switch (frame.type) {
      case 'message':
      case 'conversation.queued':
      case 'conversation.assigned':
      case 'conversation.transferred':
      case 'conversation.closed':
        this.addEntry(frame);
        break;
      case 'queue.position':
        this.showQueue(frame);
        break;
      case 'typing':
        this.showTyping(frame.from?.name);
        break;
      case 'read':
        if (frame.role !== 'customer' && this.timeline?.conversationId === frame.conversationId) this.log.markRead(frame.seq);
        break;
      case 'resume.gap':
        this.log.note('Older messages are no longer available.');
        break;
      case 'notification':
        if (this.notifications.receive(frame) && this.view.panel.hidden) this.bumpUnread();
        break;
      case 'rating':
        this.rating.received(frame);
        break;
      case 'error':
        if (!this.rating.error(frame) && frame.id) this.log.fail(frame.id, frame.message);
        break;
      default:
        break;
    }
  }

  /** A customer has one conversation at a time: a frame of another one means it is the new one. */
  switchTo(conversationId) {
    if (this.timeline?.conversationId === conversationId) return;
    if (this.timeline) this.log.freeze();
    this.timeline = new Timeline(conversationId);
    this.session.conversationId = conversationId;
    this.rating.reset(conversationId);
    this.agentName = null;
    this.offlineShown = false;
    replace(this.view.forms);
    this.view.queue.hidden = true;
    this.view.endChat.hidden = false;
  }

  addEntry(entry) {
    let fetchAll = false;
    if (this.timeline?.conversationId !== entry.conversationId) {
      this.switchTo(entry.conversationId);
      fetchAll = entry.seq > 1; // joined it midway (e.g. opened in another tab): fetch the start
    }
    const outcome = this.timeline.add(entry);
    if (outcome === 'duplicate') return;
    if (outcome === 'gap' || fetchAll) {
      const lastSeq = fetchAll ? 0 : this.timeline.contiguousSeq;
      this.socket.send({ type: 'resume', conversations: [{ conversationId: entry.conversationId, lastSeq }] });
    }
    this.log.insert(entry);
    if (entry.type === 'message' && entry.from?.role !== 'customer') {
      this.clearTyping();
      if (this.view.panel.hidden) this.bumpUnread();
      this.markRead();
    }
    this.apply(entry);
  }

  /** What an event changes beyond its line: header, queue box, forms. */
  apply(entry) {
    const v = this.view;
    switch (entry.type) {
      case 'conversation.queued':
        this.agentName = null;
        v.status.textContent = 'Waiting for an agent…';
        if (entry.agentsOnline === false) this.offerOfflineForm();
        break;
      case 'conversation.assigned':
      case 'conversation.transferred':
        if (!entry.agent && !entry.to) break;
        this.agentName = (entry.agent ?? entry.to).name;
        v.queue.hidden = true;
        v.status.textContent = `You are chatting with ${this.agentName}`;
        break;
      case 'conversation.closed':
        this.agentName = null;
        v.queue.hidden = true;
        v.endChat.hidden = true;
        v.status.textContent = 'This conversation is closed. Write to start a new one.';
        this.rating.closed(entry.rateUntil);
        break;
      default:
        break;
    }
  }

  showQueue(frame) {
    if (this.agentName || this.timeline?.conversationId !== frame.conversationId || this.timeline.closed) return;
    const v = this.view;
    v.queue.hidden = false;
    replace(v.queue, h('strong', {}, `You are number ${frame.position} in the queue.`), ' ', waitText(frame.estimatedWaitSeconds));
    if (frame.agentsOnline === false) this.offerOfflineForm();
  }

  offerOfflineForm() {
    if (this.offlineShown) return;
    this.offlineShown = true;
    replace(this.view.forms, offlineForm({ name: this.session.name, onSend: (values) => this.api.post('/v1/offline-messages', values) }));
  }

  sendMessage() {
    const body = this.view.input.value;
    if (!body.trim()) return;
    const id = newFrameId('c');
    this.log.addPending(id, body);
    this.socket.send({ type: 'message', id, body });
    this.view.input.value = '';
    if (this.offlineShown) replace(this.view.forms);
  }

  /** Uploads a file (with progress), then sends it as a message of the open conversation. */
  async sendFile(file) {
    const t = this.timeline;
    if (!t || t.closed) {
      this.log.note('Write a message first to start the conversation, then attach files.');
      return;
    }
    const progress = this.attach.progress;
    progress.hidden = false;
    progress.value = 0;
    try {
      const attachment = await uploadFile(t.conversationId, file, (fraction) => { progress.value = fraction; });
      const id = newFrameId('c');
      this.log.addPending(id, `File: ${attachment.name}`);
      this.socket.send({ type: 'message', id, conversationId: t.conversationId, body: '', attachment: { id: attachment.id } });
    } catch (error) {
      this.log.note(`${file.name} was not sent: ${error.message}`);
    } finally {
      progress.hidden = true;
    }
  }

  sendTyping() {
    const id = this.timeline?.conversationId;
    if (!id || this.timeline.closed || Date.now() - this.lastTypingSent < 1000) return;
    this.lastTypingSent = Date.now();
    this.socket.send({ type: 'typing', conversationId: id });
  }

  endChat() {
    if (!this.timeline || this.timeline.closed) return;
    this.socket.send({ type: 'close', id: newFrameId('c'), conversationId: this.timeline.conversationId });
  }

  /** Read receipt for the agent's messages, while the panel is open and the page visible. */
  markRead() {
    const t = this.timeline;
    if (!t || this.view.panel.hidden || document.visibilityState !== 'visible') return;
    const last = t.sorted().filter((e) => e.type === 'message' && e.from?.role !== 'customer').pop();
    if (last && last.seq > (t.readSent ?? 0)) {
      t.readSent = last.seq;
      this.socket.send({ type: 'read', conversationId: t.conversationId, seq: last.seq });
    }
  }

  showTyping(name) {
    this.view.typing.textContent = `${name ?? 'The agent'} is typing…`;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.clearTyping(), TYPING_SHOWN_MS);
  }

  clearTyping() {
    clearTimeout(this.typingTimer);
    this.view.typing.textContent = '';
  }

  bumpUnread() {
    this.unread += 1;
    this.updateBadge();
  }

  updateBadge() {
    this.view.badge.hidden = this.unread === 0;
    this.view.badge.textContent = String(this.unread);
    this.view.badge.setAttribute('aria-label', `${this.unread} unread`);
  }
}
