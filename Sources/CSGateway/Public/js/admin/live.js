// The live section: GET /v1/stats/live every few seconds, and the supervisor's `conversations`
// frame for the list of open conversations.

import { h, replace } from '../lib/dom.js';
import { duration } from '../lib/format.js';

const POLL_MS = 4000;

export function startLivePolling(api) {
  let timer = null;
  async function poll() {
    try {
      renderStats(await api.get('/v1/stats/live'));
    } catch (error) {
      document.getElementById('live-updated').textContent = `Live statistics unavailable: ${error.message}`;
    }
    timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => clearTimeout(timer);
}

function renderStats(stats) {
  const c = stats.conversations ?? {};
  const csat = stats.csatToday ?? {};
  const cards = [
    ['Waiting', c.queued], ['Open', c.open], ['Opened today', c.openedToday], ['Closed today', c.closedToday],
    ['Average wait', duration(stats.averageWaitSeconds)], ['First response', duration(stats.averageFirstResponseSeconds)],
    ['CSAT today', csat.csat == null ? '—' : `${csat.csat.toFixed(1)} %`],
    ['Average rating', csat.average == null ? '—' : `${csat.average.toFixed(2)} (${csat.count})`],
  ];
  replace(document.getElementById('stat-cards'), cards.map(([label, value]) =>
    h('dl', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value ?? '—'))));
  replace(document.getElementById('queues'), (stats.queues ?? []).length
    ? stats.queues.map((q) => h('tr', {}, h('td', {}, q.skill), h('td', { class: 'num' }, q.waiting)))
    : h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'No one is waiting.')));
  replace(document.getElementById('agent-load'), (stats.agents ?? []).map((agent) =>
    h('tr', {},
      h('td', {}, agent.name, h('span', { class: 'muted' }, ` ${agent.id}`)),
      h('td', {}, h('span', { class: `presence presence-${agent.status}` }, agent.status)),
      h('td', {}, loadBar(agent.load, agent.capacity)))));
  document.getElementById('live-updated').textContent = `Updated ${new Date(stats.at ?? Date.now()).toLocaleTimeString()}`;
}

function loadBar(load, capacity) {
  return h('span', { class: 'load' },
    h('meter', { min: 0, max: Math.max(capacity, 1), value: load, 'aria-label': `load ${load} of ${capacity}` }),
    ` ${load}/${capacity}`);
}

/** The `conversations` frame of a supervisor: every assigned or waiting conversation. */
export function renderConversations(items, onClose) {
  const rows = items.map((item) => {
    const last = (item.last ?? []).filter((e) => e.type === 'message').pop();
    return h('tr', {},
      h('td', {}, item.customer?.name ?? '?'),
      h('td', {}, item.status),
      h('td', {}, item.agent?.name ?? '—'),
      h('td', {}, item.skill),
      h('td', { class: 'num' }, item.lastSeq),
      h('td', { class: 'snippet' }, last ? last.body.slice(0, 100) : ''),
      h('td', {}, h('button', { type: 'button', class: 'danger small', onclick: () => onClose(item), 'aria-label': `Close the conversation with ${item.customer?.name ?? 'the customer'}` }, 'Close')));
  });
  replace(document.getElementById('open-conversations'), rows.length ? rows : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No open conversations.')));
}
