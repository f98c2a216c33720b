// The widget's forms: start a chat (optional name), leave a message when nobody is online,
// and rate a closed conversation.

import { h, formValues } from '../lib/dom.js';

let fieldCounter = 0;
function field(label, control) {
  fieldCounter += 1;
  control.id = `cs-field-${fieldCounter}`;
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

function errorLine() {
  return h('p', { class: 'form-error', role: 'alert' });
}

export function startForm(onStart) {
  const error = errorLine();
  const form = h('form', { class: 'card', 'aria-label': 'Start a chat' },
    h('p', {}, 'Hi! Tell us your name and write your question.'),
    field('Your name (optional)', h('input', { name: 'name', maxlength: '80', autocomplete: 'name' })),
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Start chat'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try { await onStart(formValues(form).name); } catch (e) { error.textContent = e.message; }
  });
  return form;
}

export function offlineForm({ name, onSend }) {
  const error = errorLine();
  const form = h('form', { class: 'card', 'aria-label': 'Leave a message' },
    h('h3', {}, 'Nobody is online right now'),
    h('p', {}, 'Leave a message and we will get back to you by email.'),
    field('Name', h('input', { name: 'name', required: true, maxlength: '80', autocomplete: 'name', value: name && name !== 'Visitor' ? name : '' })),
    field('Email', h('input', { name: 'email', type: 'email', required: true, maxlength: '254', autocomplete: 'email' })),
    field('Message', h('textarea', { name: 'text', required: true, maxlength: '4000', rows: '3' })),
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Send message'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const values = formValues(form, { raw: ['text'] });
    try {
      await onSend(values);
      form.replaceChildren(h('p', { role: 'status', class: 'thanks' }, 'Thank you! Your message was sent; we will answer by email.'));
    } catch (e) { error.textContent = e.message; }
  });
  return form;
}

const SCORE_LABELS = ['Very bad', 'Bad', 'OK', 'Good', 'Very good'];

/** Star rating 1–5 with an optional comment; `current` is an existing rating to change. */
export function ratingForm({ current, rateUntil, onRate }) {
  const error = errorLine();
  const stars = h('div', { class: 'stars' },
    SCORE_LABELS.map((label, index) => {
      const score = index + 1;
      const id = `cs-star-${score}`;
      return [
        h('input', { type: 'radio', name: 'score', value: String(score), id, required: true, checked: current?.score === score }),
        h('label', { for: id, title: label, dataset: { score } }, h('span', { 'aria-hidden': 'true' }, '★'), h('span', { class: 'sr-only' }, `${score} – ${label}`)),
      ];
    }));
  // Stars up to the chosen score light up.
  const paint = () => {
    const chosen = Number(stars.querySelector('input:checked')?.value ?? 0);
    for (const label of stars.querySelectorAll('label')) label.classList.toggle('on', Number(label.dataset.score) <= chosen);
  };
  stars.addEventListener('change', paint);
  paint();
  const comment = h('textarea', { name: 'comment', maxlength: '1000', rows: '2' });
  comment.value = current?.comment ?? '';
  const form = h('form', { class: 'card rating', 'aria-label': 'Rate this conversation' },
    h('fieldset', {}, h('legend', {}, 'How was this conversation?'), stars),
    field('Comment (optional)', comment),
    error,
    h('button', { type: 'submit', class: 'primary' }, current ? 'Change rating' : 'Send rating'),
    rateUntil ? h('p', { class: 'hint' }, `You can change it until ${new Date(rateUntil).toLocaleString()}.`) : null);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = formValues(form, { raw: ['comment'] });
    error.textContent = '';
    onRate(Number(values.score), values.comment.trim());
  });
  form.showError = (message) => { error.textContent = message; };
  return form;
}

export function ratingThanks({ rating, canChange, onChange }) {
  return h('div', { class: 'card thanks', role: 'status' },
    h('p', {}, `Thank you for your rating: ${'★'.repeat(rating.score)}${'☆'.repeat(5 - rating.score)} (${rating.score}/5).`),
    rating.comment ? h('p', { class: 'quote' }, rating.comment) : null,
    canChange ? h('button', { type: 'button', class: 'link-button', onclick: onChange }, 'Change my rating') : null);
}
