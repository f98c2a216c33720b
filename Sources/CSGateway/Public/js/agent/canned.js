// Canned responses in the reply box: type "/" and a shortcut, pick with the arrow keys and
// Enter or Tab (or a click); Escape closes the list.

import { h, replace } from '../lib/dom.js';

export class CannedPicker {
  constructor(textarea, listbox) {
    this.textarea = textarea;
    this.listbox = listbox;
    this.responses = [];
    this.matches = [];
    this.active = 0;
    textarea.addEventListener('input', () => this.update());
    textarea.addEventListener('keydown', (event) => this.onKey(event), true);
    textarea.addEventListener('blur', () => setTimeout(() => this.hide(), 150));
  }

  setResponses({ team = [], personal = [] }) {
    const seen = new Set();
    this.responses = [...personal.map((r) => ({ ...r, owner: 'mine' })), ...team.map((r) => ({ ...r, owner: 'team' }))]
      .filter((r) => !seen.has(r.shortcut) && seen.add(r.shortcut));
  }

  get isOpen() {
    return !this.listbox.hidden;
  }

  update() {
    const match = /^\/([A-Za-z0-9._-]*)$/.exec(this.textarea.value);
    if (!match) return this.hide();
    const typed = match[1].toLowerCase();
    this.matches = this.responses.filter((r) => r.shortcut.toLowerCase().startsWith(typed)).slice(0, 8);
    if (!this.matches.length) return this.hide();
    this.active = 0;
    this.render();
  }

  render() {
    replace(this.listbox, this.matches.map((response, index) =>
      h('li', {
        role: 'option', id: `canned-${index}`, 'aria-selected': String(index === this.active), class: index === this.active ? 'active' : null,
        onmousedown: (event) => { event.preventDefault(); this.pick(index); },
      }, h('strong', {}, `/${response.shortcut}`), ' ', h('span', {}, response.text))));
    this.listbox.hidden = false;
    this.textarea.setAttribute('aria-activedescendant', `canned-${this.active}`);
  }

  hide() {
    this.listbox.hidden = true;
    this.textarea.removeAttribute('aria-activedescendant');
  }

  pick(index) {
    const response = this.matches[index];
    if (!response) return;
    this.textarea.value = response.text;
    this.hide();
    this.textarea.focus();
  }

  onKey(event) {
    if (!this.isOpen) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      this.active = (this.active + moves[event.key] + this.matches.length) % this.matches.length;
      this.render();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      this.pick(this.active);
    } else if (event.key === 'Escape') {
      this.hide();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}
