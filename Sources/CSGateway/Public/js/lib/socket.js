// One WebSocket to the gateway (docs/protocol.md) that reconnects by itself: exponential
// backoff with jitter, at once after a gateway shutdown (1001), and resumes the conversations on
// screen through the `resume` URL parameter. Frames with an `id` that got no `ack` are sent
// again after a reconnect (the gateway deduplicates them by id).

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const PING_EVERY_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
/** Errors after which the same frame is sent again (the gateway deduplicates by id). */
const RETRYABLE = ['unavailable', 'rate_limited'];

export function backoffDelay(attempt) {
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return cap / 2 + Math.random() * (cap / 2); // "equal jitter": spread out, never instant
}

export class ChatSocket {
  /**
   * @param {object} options
   * @param {string} options.url        ws(s)://host/v1/ws
   * @param {() => string} options.token
   * @param {() => Array<[string, number]>} options.resumePoints  [conversationId, highest seq shown]
   * @param {(frame: object) => void} options.onFrame
   * @param {(state: string, detail?: object) => void} options.onState  connecting, open, waiting, unauthorized, stopped
   */
  constructor(options) {
    this.options = options;
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.unacked = new Map(); // id -> frame
    this.timer = null;
    this.pingTimer = null;
    this.pongTimer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopPing();
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.options.onState('stopped');
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN && this.greeted;
  }

  /** Sends a frame; frames with an id are kept until acknowledged and resent after a reconnect. */
  send(frame) {
    if (frame.id && ['message', 'close', 'transfer', 'rate'].includes(frame.type)) this.unacked.set(frame.id, frame);
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Reconnects now (e.g. the browser came back online). */
  reconnectNow() {
    if (this.stopped || this.isOpen) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    const params = new URLSearchParams({ token: this.options.token() });
    const points = this.options.resumePoints().slice(0, 20);
    if (points.length) params.set('resume', points.map(([id, seq]) => `${id}:${seq}`).join(','));
    this.greeted = false;
    this.options.onState('connecting');
    const ws = new WebSocket(`${this.options.url}?${params}`);
    this.ws = ws;
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(ws, event.code);
  }

  receive(data) {
    let frame;
    try { frame = JSON.parse(data); } catch { return; }
    if (frame.type === 'hello') {
      this.greeted = true;
      this.attempt = 0;
      this.startPing();
      this.options.onState('open', frame);
      for (const pending of this.unacked.values()) this.ws.send(JSON.stringify(pending));
    } else if (frame.type === 'ack') {
      this.unacked.delete(frame.id);
    } else if (frame.type === 'pong') {
      clearTimeout(this.pongTimer);
      return;
    } else if (frame.type === 'error' && frame.id && this.unacked.has(frame.id)) {
      if (RETRYABLE.includes(frame.code)) {
        this.retryLater(frame.id);
        return; // not a failure yet
      }
      this.unacked.delete(frame.id); // refused for good
    }
    this.options.onFrame(frame);
  }

  /** Sends an unacknowledged frame again after a pause (Redis was unreachable, or too fast). */
  retryLater(id) {
    setTimeout(() => {
      const frame = this.unacked.get(id);
      if (frame && this.isOpen) this.ws.send(JSON.stringify(frame));
    }, 1000 + Math.random() * 2000);
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.stopPing();
    this.ws = null;
    this.greeted = false;
    if (this.stopped) return;
    if (code === 4001) {
      this.options.onState('unauthorized');
      return;
    }
    const delay = code === 1001 && this.attempt === 0 ? 50 + Math.random() * 250 : backoffDelay(this.attempt);
    this.attempt += 1;
    this.options.onState('waiting', { delay, code });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (!this.isOpen) return;
      this.ws.send(JSON.stringify({ type: 'ping' }));
      clearTimeout(this.pongTimer);
      const ws = this.ws;
      this.pongTimer = setTimeout(() => ws.close(4000), PONG_TIMEOUT_MS); // dead link: reconnect
    }, PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}

let counter = 0;
/** A client message id: prefix, random part, counter ([A-Za-z0-9._-], at most 64). */
export function newFrameId(prefix) {
  counter += 1;
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}-${counter}`;
}
