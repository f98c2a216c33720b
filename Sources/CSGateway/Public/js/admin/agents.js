// Agent accounts: GET/POST /v1/agents, PATCH and DELETE /v1/agents/{id}.

import { formValues, h, replace } from '../lib/dom.js';
import { toast } from '../lib/toasts.js';

const skillList = (text) => text.split(',').map((skill) => skill.trim()).filter(Boolean);

export function setupAgents(api, me) {
  const form = document.getElementById('agent-form');
  const error = document.getElementById('agent-error');

  async function refresh() {
    try {
      const { agents } = await api.get('/v1/agents');
      replace(document.getElementById('agent-rows'), agents.map(row));
    } catch (e) {
      error.textContent = e.message;
    }
  }

  function row(agent) {
    const label = (what) => `${what} of ${agent.id}`;
    const name = h('input', { value: agent.name, maxlength: '80', 'aria-label': label('Name'), class: 'cell-input' });
    const skills = h('input', { value: agent.skills.join(', '), 'aria-label': label('Skills'), class: 'cell-input' });
    const capacity = h('input', { type: 'number', min: '1', max: '100', value: agent.maxConversations, 'aria-label': label('Capacity'), class: 'cell-input narrow' });
    const save = async () => {
      error.textContent = '';
      try {
        await api.patch(`/v1/agents/${encodeURIComponent(agent.id)}`, { name: name.value.trim(), skills: skillList(skills.value), maxConversations: Number(capacity.value) });
        toast(`Saved ${agent.id}.`);
        refresh();
      } catch (e) {
        error.textContent = e.message;
      }
    };
    const remove = async () => {
      if (!confirm(`Remove the account ${agent.id}? Their open conversations stay assigned.`)) return;
      try {
        await api.del(`/v1/agents/${encodeURIComponent(agent.id)}`);
        refresh();
      } catch (e) {
        error.textContent = e.message;
      }
    };
    return h('tr', {},
      h('td', {}, agent.id), h('td', {}, name), h('td', {}, agent.role), h('td', {}, skills), h('td', {}, capacity),
      h('td', { class: 'num' }, agent.load),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary small', onclick: save, 'aria-label': `Save ${agent.id}` }, 'Save'),
        agent.id === me.id ? null : h('button', { type: 'button', class: 'danger small', onclick: remove, 'aria-label': `Remove ${agent.id}` }, 'Remove')));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const values = formValues(form, { raw: ['password'] });
    try {
      await api.post('/v1/agents', { ...values, skills: skillList(values.skills), maxConversations: Number(values.maxConversations) });
      form.reset();
      toast(`Added ${values.id}.`);
      refresh();
    } catch (e) {
      error.textContent = e.message;
    }
  });
  refresh();
}
