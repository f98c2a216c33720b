// `notification` frames (docs/protocol.md): shown once per id, acknowledged when received,
// marked read when dismissed.

import { h } from './dom.js';

export class NotificationList {
  /** @param {HTMLElement} container  @param {(frame: object) => void} send */
  constructor(container, send) {
    this.container = container;
    this.send = send;
    this.shown = new Set();
  }

  receive(notification) {
    this.send({ type: 'notification.ack', id: notification.id });
    if (this.shown.has(notification.id) || notification.expiresAt < Date.now()) return false;
    this.shown.add(notification.id);
    const dismiss = h('button', { type: 'button', class: 'notice-close', 'aria-label': 'Dismiss notification' }, '×');
    const item = h('div', { class: `notice notice-${notification.priority}`, role: notification.priority === 'urgent' ? 'alert' : 'status', dataset: { id: notification.id } },
      h('div', { class: 'notice-text' },
        notification.title ? h('strong', {}, notification.title) : null,
        h('p', {}, notification.body)),
      dismiss);
    dismiss.addEventListener('click', () => {
      this.send({ type: 'notification.read', id: notification.id });
      item.remove();
    });
    const delay = notification.expiresAt - Date.now();
    if (delay < 2 ** 31) setTimeout(() => item.remove(), delay);
    this.container.append(item);
    return true;
  }
}
