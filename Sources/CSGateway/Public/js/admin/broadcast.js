// Broadcasts: POST /v1/notifications, and the recent ones with their receipt counts.

import { formValues, h, replace } from '../lib/dom.js';
import { toast } from '../lib/toasts.js';

export function setupBroadcast(api) {
  const form = document.getElementById('broadcast-form');
  const error = form.querySelector('.form-error');
  const targetField = document.getElementById('b-target-field');
  form.elements.audience.addEventListener('change', () => {
    const needsTarget = ['skill', 'users'].includes(form.elements.audience.value);
    targetField.hidden = !needsTarget;
    form.elements.target.required = needsTarget;
  });

  async function refresh() {
    try {
      const { notifications } = await api.get('/v1/notifications?limit=10');
      replace(document.getElementById('notification-rows'), notifications.map((n) => h('tr', {},
        h('td', {}, n.title ? h('strong', {}, n.title) : null, n.title ? ' ' : null, n.body.slice(0, 120)),
        h('td', {}, n.audience === 'users' ? `users: ${n.users.join(', ')}` : n.audience),
        h('td', {}, n.status),
        h('td', { class: 'num' }, n.counts.delivered), h('td', { class: 'num' }, n.counts.acknowledged), h('td', { class: 'num' }, n.counts.read),
        h('td', {}, n.status === 'cancelled' ? null : h('button', {
          type: 'button', class: 'secondary small', 'aria-label': `Withdraw notification ${n.title || n.body.slice(0, 30)}`,
          onclick: async () => { await api.del(`/v1/notifications/${encodeURIComponent(n.id)}`).catch(() => {}); setTimeout(refresh, 300); },
        }, 'Withdraw')))));
    } catch { /* shown on the next refresh */ }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const values = formValues(form, { raw: ['body'] });
    const body = { audience: values.audience, title: values.title, body: values.body, priority: values.priority };
    if (values.audience === 'skill') body.audience = `skill:${values.target}`;
    if (values.audience === 'users') body.users = values.target.split(',').map((id) => id.trim()).filter(Boolean);
    try {
      await api.post('/v1/notifications', body);
      form.reset();
      targetField.hidden = true;
      toast('Notification sent.');
      setTimeout(refresh, 500);
    } catch (e) {
      error.textContent = e.message;
    }
  });
  refresh();
  setInterval(refresh, 15000);
}
