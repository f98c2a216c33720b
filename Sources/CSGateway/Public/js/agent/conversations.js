// The agent's conversations: what the `conversations` frame and the live frames say about each.

import { Timeline } from '../lib/timeline.js';

export class Conversations {
  constructor(me) {
    this.me = me;
    this.byId = new Map();
  }

  get(id) {
    return this.byId.get(id);
  }

  ensure(id) {
    let conversation = this.byId.get(id);
    if (!conversation) {
      conversation = { id, timeline: new Timeline(id), customer: null, agent: null, skill: null, status: 'assigned', unread: 0, loaded: false, readSent: 0 };
      this.byId.set(id, conversation);
    }
    return conversation;
  }

  /** The `conversations` frame: the ones assigned to me now (a supervisor's frame has more). */
  reset(items) {
    const mine = items.filter((item) => item.agent?.id === this.me.id);
    const ids = new Set(mine.map((item) => item.id ?? item.conversationId));
    for (const [id, conversation] of this.byId) {
      if (!ids.has(id) && conversation.status === 'assigned') conversation.status = 'gone';
    }
    for (const item of mine) {
      const conversation = this.ensure(item.conversationId);
      Object.assign(conversation, { customer: item.customer, agent: item.agent, skill: item.skill, status: item.status, unread: item.unread ?? 0 });
      conversation.serverLastSeq = item.lastSeq;
      for (const entry of item.last ?? []) conversation.timeline.add(entry);
    }
  }

  /** Applies a numbered entry; returns { conversation, isNew, added } (isNew: it just became mine). */
  apply(entry) {
    const known = this.byId.has(entry.conversationId);
    const conversation = this.ensure(entry.conversationId);
    let isNew = false;
    const toMe = entry.type === 'conversation.assigned' ? entry.agent?.id === this.me.id
      : entry.type === 'conversation.transferred' && entry.to?.id === this.me.id;
    if (toMe) {
      isNew = !known || conversation.status !== 'assigned';
      conversation.status = 'assigned';
      if (entry.customer) conversation.customer = entry.customer;
      conversation.agent = entry.agent ?? entry.to ?? conversation.agent;
      for (const past of entry.history ?? []) {
        conversation.timeline.add(past);
        learnCustomer(conversation, past);
      }
    } else if (entry.type === 'conversation.transferred' && entry.from?.id === this.me.id) {
      conversation.status = 'transferred';
    } else if (entry.type === 'conversation.queued' && known) {
      conversation.status = 'requeued';
    } else if (entry.type === 'conversation.closed') {
      conversation.status = 'closed';
    }
    learnCustomer(conversation, entry);
    const added = conversation.timeline.add(entry);
    return { conversation, isNew, added };
  }

  list() {
    return [...this.byId.values()].sort((a, b) => (b.timeline.last?.ts ?? 0) - (a.timeline.last?.ts ?? 0));
  }

  /** [conversationId, highest seq shown] of the conversations on screen, for `resume`. */
  resumePoints() {
    return this.list().filter((c) => c.status === 'assigned' && c.timeline.lastSeq > 0).slice(0, 20).map((c) => [c.id, c.timeline.lastSeq]);
  }
}

/** A transfer's frame names no customer: the history's assignment or messages do. */
function learnCustomer(conversation, entry) {
  if (conversation.customer) return;
  if (entry.customer) conversation.customer = entry.customer;
  else if (entry.type === 'message' && entry.from?.role === 'customer') conversation.customer = { id: entry.from.id, name: entry.from.name };
}
