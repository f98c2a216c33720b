// Rating a closed conversation: the form while the window is open (`rateUntil`), the thanks
// once recorded (`rating` frame), and changing it until the window closes.

import { replace } from '../lib/dom.js';
import { newFrameId } from '../lib/socket.js';
import { ratingForm, ratingThanks } from './forms.js';

const ERRORS = {
  rating_final: 'The time to rate this conversation has passed.',
  conversation_open: 'You can rate the conversation once it is closed.',
};

export class RatingPanel {
  /** @param {{container: HTMLElement, api: object, send: (frame: object) => boolean}} options */
  constructor({ container, api, send }) {
    Object.assign(this, { container, api, send });
    this.reset(null);
  }

  reset(conversationId) {
    this.conversationId = conversationId;
    this.rating = null;
    this.rateUntil = null;
    this.form = null;
  }

  /** The conversation closed (live or replayed): show the form, or the rating already given. */
  async closed(rateUntil) {
    this.rateUntil = rateUntil ?? this.rateUntil;
    if (!this.rating) {
      const id = this.conversationId;
      try {
        const answer = await this.api.get(`/v1/conversations/${encodeURIComponent(id)}/rating`);
        if (id !== this.conversationId) return;
        this.rateUntil = answer.rateUntil ?? this.rateUntil;
        this.rating = answer.rating;
      } catch { /* unknown: the close's rateUntil decides */ }
    }
    this.show();
  }

  /** The `rating` frame: recorded. */
  received(frame) {
    if (frame.conversationId !== this.conversationId) return;
    this.rating = frame;
    this.rateUntil = frame.rateUntil;
    this.show();
  }

  /** An `error` answering a `rate` frame; false when it is not about ratings. */
  error(frame) {
    if (!frame.id?.startsWith('r-') || !this.form) return false;
    this.form.showError(ERRORS[frame.code] ?? frame.message);
    return true;
  }

  show(editing = false) {
    const open = this.rateUntil && this.rateUntil > Date.now();
    if (this.rating && !editing) {
      replace(this.container, ratingThanks({ rating: this.rating, canChange: open, onChange: () => this.show(true) }));
    } else if (open) {
      this.form = ratingForm({ current: this.rating, rateUntil: this.rateUntil, onRate: (score, comment) => this.rate(score, comment) });
      replace(this.container, this.form);
      if (editing) this.form.querySelector('input:checked, input')?.focus();
    }
  }

  rate(score, comment) {
    const frame = { type: 'rate', id: newFrameId('r'), conversationId: this.conversationId, score };
    if (comment) frame.comment = comment;
    if (!this.send(frame)) this.form.showError('Not connected: it is sent when the connection is back.');
  }
}
