// The widget's message list: committed entries in seq order, messages still being sent below
// them, read ticks on the customer's own messages.

import { attachmentElement } from '../lib/attachments.js';
import { h } from '../lib/dom.js';
import { clock, eventText } from '../lib/format.js';
import { isEvent } from '../lib/timeline.js';

export class MessageLog {
  constructor(list) {
    this.list = list;
    this.pending = new Map(); // client message id -> <li>
  }

  /** Keeps the previous conversation on screen, frozen above a divider. */
  freeze() {
    for (const li of this.list.querySelectorAll('li[data-seq]')) li.removeAttribute('data-seq');
    this.list.append(h('li', { class: 'divider' }, h('span', {}, 'New conversation')));
  }

  note(text) {
    this.list.append(h('li', { class: 'event' }, text));
  }

  /** Inserts a committed entry at its place in seq order (replacing its "sending" line). */
  insert(entry) {
    const pending = entry.type === 'message' && this.pending.get(entry.id);
    if (pending) {
      this.pending.delete(entry.id);
      pending.remove();
    }
    const line = isEvent(entry) ? h('li', { class: 'event', dataset: { seq: entry.seq } }, eventText(entry, 'customer')) : messageLine(entry);
    const after = [...this.list.querySelectorAll('li[data-seq]')].find((li) => Number(li.dataset.seq) > entry.seq);
    this.list.insertBefore(line, after ?? this.list.querySelector('li.pending'));
    line.scrollIntoView?.({ block: 'nearest' });
  }

  addPending(id, body) {
    const line = h('li', { class: 'message mine pending', dataset: { id } }, h('p', { class: 'body' }, body), h('span', { class: 'meta' }, 'Sending…'));
    this.list.append(line);
    line.scrollIntoView?.({ block: 'nearest' });
    this.pending.set(id, line);
  }

  /** A message the server refused for good. Returns false if `id` is not a pending message. */
  fail(id, message) {
    const line = this.pending.get(id);
    if (!line) return false;
    line.classList.add('failed');
    line.querySelector('.meta').textContent = `Not sent: ${message}`;
    return true;
  }

  /** The agent read everything up to `seq`. */
  markRead(seq) {
    for (const li of this.list.querySelectorAll('li.mine[data-seq]')) {
      const tick = li.querySelector('.tick');
      if (Number(li.dataset.seq) > seq || !tick) continue;
      tick.textContent = '✓✓';
      tick.title = 'Read';
      tick.setAttribute('aria-label', 'Read');
      tick.classList.add('read');
    }
  }
}

function messageLine(entry) {
  const mine = entry.from?.role === 'customer';
  return h('li', { class: mine ? 'message mine' : 'message theirs', dataset: { seq: entry.seq, id: entry.id } },
    mine ? null : h('span', { class: 'author' }, entry.from?.name ?? 'Agent'),
    h('p', { class: 'body', hidden: !entry.body && entry.attachment ? true : null }, entry.body),
    entry.attachment ? attachmentElement(entry.conversationId, entry.attachment) : null,
    h('span', { class: 'meta' }, h('time', { datetime: new Date(entry.ts).toISOString() }, clock(entry.ts)),
      mine ? h('span', { class: 'tick', title: 'Delivered', 'aria-label': 'Delivered' }, '✓') : null));
}
