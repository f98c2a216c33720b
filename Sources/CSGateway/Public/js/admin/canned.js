// Team canned responses: GET /v1/canned-responses, PUT and DELETE /v1/canned-responses/team/{shortcut}.

import { formValues, h, replace } from '../lib/dom.js';

export function setupCanned(api) {
  const form = document.getElementById('canned-form');
  const error = document.getElementById('canned-error');

  async function refresh() {
    try {
      const { team } = await api.get('/v1/canned-responses');
      replace(document.getElementById('canned-rows'), team.length ? team.map((response) => h('tr', {},
        h('td', {}, h('code', {}, `/${response.shortcut}`)),
        h('td', { class: 'wrap' }, response.text),
        h('td', { class: 'actions' },
          h('button', { type: 'button', class: 'secondary small', 'aria-label': `Edit /${response.shortcut}`, onclick: () => edit(response) }, 'Edit'),
          h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete /${response.shortcut}`, onclick: () => remove(response) }, 'Delete'))))
        : h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No team responses yet.')));
    } catch (e) {
      error.textContent = e.message;
    }
  }

  function edit(response) {
    form.elements.shortcut.value = response.shortcut;
    form.elements.text.value = response.text;
    form.elements.text.focus();
  }

  async function remove(response) {
    if (!confirm(`Delete /${response.shortcut}?`)) return;
    try {
      await api.del(`/v1/canned-responses/team/${encodeURIComponent(response.shortcut)}`);
    } catch (e) {
      error.textContent = e.message;
    }
    refresh();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const { shortcut, text } = formValues(form);
    try {
      await api.put(`/v1/canned-responses/team/${encodeURIComponent(shortcut)}`, { text });
      form.reset();
      refresh();
    } catch (e) {
      error.textContent = e.message;
    }
  });
  refresh();
}
