// The visitor session (docs/api.md, POST /v1/visitor/session), kept in localStorage per gateway
// so that a returning visitor keeps their identity and their open conversation.

export class VisitorSession {
  constructor(api, gateway) {
    this.api = api;
    this.key = `cs-widget:${gateway}`;
    this.data = this.read();
  }

  read() {
    try { return JSON.parse(localStorage.getItem(this.key)) || {}; } catch { return {}; }
  }

  save() {
    try { localStorage.setItem(this.key, JSON.stringify(this.data)); } catch { /* private mode: session lasts the page */ }
  }

  get token() { return this.data.token; }
  get name() { return this.data.name; }
  get visitorId() { return this.data.visitorId; }
  get conversationId() { return this.data.conversationId; }

  set conversationId(id) {
    this.data.conversationId = id;
    this.save();
  }

  /** Starts a session, or renews the stored one (same visitor id, fresh token). */
  async open(name) {
    const body = {};
    if (name) body.name = name;
    if (this.data.token) body.token = this.data.token;
    const answer = await this.api.post('/v1/visitor/session', body);
    if (answer.visitorId !== this.data.visitorId) this.data.conversationId = null;
    Object.assign(this.data, { token: answer.token, name: answer.name, visitorId: answer.visitorId });
    this.save();
    return answer;
  }
}
