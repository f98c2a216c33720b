// Drawing the agent console: the conversation list and the open conversation.

import { attachmentElement } from '../lib/attachments.js';
import { h, replace } from '../lib/dom.js';
import { clock, eventText } from '../lib/format.js';
import { isEvent } from '../lib/timeline.js';

const STATUS_TEXT = { assigned: '', closed: 'closed', transferred: 'transferred', requeued: 'back in queue', gone: 'no longer yours' };

export function renderList(list, conversations, selectedId, onSelect) {
  document.getElementById('list-empty').hidden = conversations.length > 0;
  replace(list, conversations.map((c) => {
    const last = c.timeline.sorted().filter((e) => e.type === 'message').pop();
    const status = STATUS_TEXT[c.status] ?? c.status;
    const button = h('button', { type: 'button', class: 'conversation-item', 'aria-current': c.id === selectedId ? 'true' : null, onclick: () => onSelect(c.id) },
      h('span', { class: 'item-head' },
        h('span', { class: 'customer' }, c.customer?.name ?? 'Customer'),
        c.unread > 0 ? h('span', { class: 'badge', 'aria-label': `${c.unread} unread` }, String(c.unread)) : null),
      h('span', { class: 'snippet' }, last ? (last.body || (last.attachment ? `File: ${last.attachment.name}` : '')).slice(0, 80) : ''),
      status ? h('span', { class: `state state-${c.status}` }, status) : null);
    return h('li', { class: c.status === 'assigned' ? null : 'inactive' }, button);
  }));
}

export function entryLine(entry, me) {
  if (isEvent(entry)) return h('li', { class: 'event', dataset: { seq: entry.seq } }, eventText(entry, 'agent'));
  const mine = entry.from?.id === me.id;
  return h('li', { class: `message ${mine ? 'mine' : 'theirs'}`, dataset: { seq: entry.seq } },
    h('span', { class: 'author' }, mine ? 'You' : entry.from?.name ?? '?'),
    h('p', { class: 'body', hidden: !entry.body && entry.attachment ? true : null }, entry.body),
    entry.attachment ? attachmentElement(entry.conversationId, entry.attachment) : null,
    entry.contact ? h('p', { class: 'contact' }, `Left offline by ${entry.contact.name} <${entry.contact.email}>`) : null,
    h('span', { class: 'meta' }, h('time', { datetime: new Date(entry.ts).toISOString() }, clock(entry.ts)),
      mine ? h('span', { class: 'tick', 'aria-label': 'Delivered', title: 'Delivered' }, '✓') : null));
}

/** Inserts one entry in seq order (or does nothing if its line is there). */
export function insertEntry(log, entry, me) {
  if (log.querySelector(`li[data-seq="${entry.seq}"]`)) return;
  const after = [...log.querySelectorAll('li[data-seq]')].find((li) => Number(li.dataset.seq) > entry.seq);
  const line = entryLine(entry, me);
  log.insertBefore(line, after ?? null);
  line.scrollIntoView?.({ block: 'nearest' });
}

export function markRead(log, seq) {
  for (const li of log.querySelectorAll('li.mine[data-seq]')) {
    const tick = li.querySelector('.tick');
    if (Number(li.dataset.seq) <= seq && tick) {
      tick.textContent = '✓✓';
      tick.title = 'Read';
      tick.setAttribute('aria-label', 'Read');
      tick.classList.add('read');
    }
  }
}

export function renderHeader(conversation) {
  document.getElementById('conversation-title').textContent = conversation.customer?.name ?? 'Customer';
  const status = STATUS_TEXT[conversation.status];
  document.getElementById('conversation-info').textContent =
    [conversation.skill ? `Skill: ${conversation.skill}` : null, conversation.customer?.id, status ? `Status: ${status}` : null].filter(Boolean).join(' · ');
  const active = conversation.status === 'assigned';
  document.getElementById('transfer').hidden = !active;
  document.getElementById('close').hidden = !active;
  document.getElementById('dismiss').hidden = active;
  document.getElementById('composer').hidden = !active;
  document.getElementById('reply-hint').hidden = !active;
}
