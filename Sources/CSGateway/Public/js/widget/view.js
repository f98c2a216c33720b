// The widget's DOM: a launcher button and a chat panel, inside a Shadow DOM so that the host
// page's styles and ours never mix.

import { h } from '../lib/dom.js';

export function buildView(root, { gateway, title }) {
  const badge = h('span', { class: 'badge', hidden: true });
  const launcher = h('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'cs-panel' },
    chatIcon(), h('span', {}, 'Chat with us'), badge);
  const status = h('p', { class: 'status', role: 'status' }, 'Ask us anything.');
  const closePanel = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Minimize chat' }, '–');
  const notices = h('div', { class: 'notices', 'aria-live': 'polite' });
  const queue = h('div', { class: 'queue', role: 'status', hidden: true });
  const log = h('ol', { class: 'log', 'aria-label': 'Conversation', 'aria-live': 'polite', tabindex: '0' });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const forms = h('div', { class: 'forms' });
  const input = h('textarea', { id: 'cs-message', name: 'body', 'aria-label': 'Message', rows: '2', maxlength: '4000', placeholder: 'Write a message…', required: true });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const composer = h('form', { class: 'composer', hidden: true, 'aria-label': 'Write a message' }, input, send);
  const endChat = h('button', { type: 'button', class: 'link-button', hidden: true }, 'End chat');
  const connection = h('span', { class: 'connection', 'aria-live': 'polite' });
  const panel = h('section', { id: 'cs-panel', class: 'panel', role: 'dialog', 'aria-label': `${title} chat`, hidden: true },
    h('header', {},
      h('div', {}, h('h2', {}, title), status),
      closePanel),
    notices, queue, log, typing, forms, composer,
    h('footer', {}, connection, endChat));

  root.append(h('link', { rel: 'stylesheet', href: `${gateway}/css/widget.css` }), launcher, panel);
  return { launcher, badge, panel, status, closePanel, notices, queue, log, typing, forms, composer, input, send, endChat, connection };
}

/** A speech bubble (inline SVG: no icon font or emoji font needed). */
function chatIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'launcher-icon');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2h-9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}
