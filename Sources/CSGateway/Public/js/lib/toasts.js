// Short-lived messages at the corner of staff pages (alerts, errors, confirmations).

import { h } from './dom.js';

export function toast(text, { kind = 'info', timeout = 6000 } = {}) {
  const container = document.getElementById('toasts');
  const item = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  container.append(item);
  if (timeout) setTimeout(() => item.remove(), timeout);
  return item;
}
