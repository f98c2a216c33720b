// Customer satisfaction: GET /v1/ratings/summary, a chart of average ratings and of the score
// distribution, and the CSV export (GET /v1/ratings.csv, fetched with the token as a Blob).

import { barChart } from '../lib/chart.js';
import { h, replace } from '../lib/dom.js';
import { isoDay } from '../lib/format.js';

export function setupCsat(api) {
  const form = document.getElementById('csat-form');
  const error = document.getElementById('csat-error');
  const today = new Date();
  form.elements.to.value = isoDay(today);
  form.elements.from.value = isoDay(new Date(today.getTime() - 29 * 86400000));

  const query = () => new URLSearchParams({ from: form.elements.from.value, to: form.elements.to.value });

  async function load() {
    error.textContent = '';
    try {
      const params = query();
      params.set('by', form.elements.by.value);
      render(await api.get(`/v1/ratings/summary?${params}`));
    } catch (e) {
      error.textContent = `Ratings unavailable: ${e.message}`;
    }
  }

  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  document.getElementById('csat-export').addEventListener('click', async () => {
    error.textContent = '';
    try {
      const response = await api.get(`/v1/ratings.csv?${query()}`, { raw: true });
      const url = URL.createObjectURL(await response.blob());
      const link = h('a', { href: url, download: `ratings-${form.elements.from.value}-${form.elements.to.value}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      error.textContent = `Export failed: ${e.message}`;
    }
  });
  load();
}

const percent = (value) => (value == null ? '—' : `${value.toFixed(1)} %`);
const average = (value) => (value == null ? '—' : value.toFixed(2));

function render(summary) {
  const rows = summary.items.map((item) => h('tr', {},
    h('td', {}, item.name ?? item.id), h('td', { class: 'num' }, item.count),
    h('td', { class: 'num' }, average(item.average)), h('td', { class: 'num' }, percent(item.csat))));
  replace(document.getElementById('csat-rows'), rows.length ? rows : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No ratings in this period.')));
  const total = summary.total ?? {};
  replace(document.getElementById('csat-total'), h('tr', {},
    h('th', { scope: 'row' }, 'Total'), h('td', { class: 'num' }, total.count ?? 0),
    h('td', { class: 'num' }, average(total.average)), h('td', { class: 'num' }, percent(total.csat))));
  const distribution = total.distribution ?? [0, 0, 0, 0, 0];
  replace(document.getElementById('csat-chart'),
    barChart(distribution.map((count, index) => ({ label: `${'★'.repeat(index + 1)}`, value: count })).reverse(),
      { title: 'Ratings by score', color: '#c98a00' }),
    barChart(summary.items.map((item) => ({ label: item.name ?? item.id, value: item.average ?? 0, display: average(item.average) })),
      { title: `Average rating by ${summary.by}`, max: 5 }),
    h('figcaption', {}, 'Ratings by score (top) and average rating out of 5 by ', summary.by, ' (bottom). CSAT = share of 4 and 5 star ratings.'));
}
