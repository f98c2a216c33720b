// What an agent does in the open conversation: reply (Enter sends), typing notices, close,
// transfer (a dialog), and removing a finished conversation from the list.

import { attachControls, uploadFile } from '../lib/attachments.js';
import { $ } from '../lib/dom.js';
import { newFrameId } from '../lib/socket.js';
import { toast } from '../lib/toasts.js';

/** @param {{selected: () => string|null, send: (frame: object) => boolean, dismiss: () => void}} console */
export function bindActions({ selected, send, dismiss }) {
  const reply = $('#reply');
  let lastTypingSent = 0;

  function sendReply() {
    const body = reply.value;
    const conversationId = selected();
    if (!body.trim() || !conversationId) return;
    if (!send({ type: 'message', id: newFrameId('a'), conversationId, body })) {
      toast('Not connected: the reply goes out when the connection is back.', { kind: 'error' });
    }
    reply.value = '';
  }

  $('#composer').addEventListener('submit', (event) => { event.preventDefault(); sendReply(); });
  reply.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); sendReply(); }
  });
  reply.addEventListener('input', () => {
    const conversationId = selected();
    if (!conversationId || Date.now() - lastTypingSent < 1000) return;
    lastTypingSent = Date.now();
    send({ type: 'typing', conversationId });
  });

  // Files: the attach button or a drop on the conversation; uploaded, then sent as a message.
  const attach = attachControls($('#conversation-body'), async (file) => {
    const conversationId = selected();
    if (!conversationId || $('#composer').hidden) return;
    attach.progress.hidden = false;
    attach.progress.value = 0;
    try {
      const attachment = await uploadFile(conversationId, file, (fraction) => { attach.progress.value = fraction; });
      send({ type: 'message', id: newFrameId('a'), conversationId, body: '', attachment: { id: attachment.id } });
    } catch (error) {
      toast(`${file.name} was not sent: ${error.message}`, { kind: 'error' });
    } finally {
      attach.progress.hidden = true;
    }
  });
  $('#composer').prepend(attach.button, attach.input);
  $('#composer').after(attach.progress);

  $('#close').addEventListener('click', () => {
    const conversationId = selected();
    if (conversationId && confirm('Close this conversation?')) send({ type: 'close', id: newFrameId('a'), conversationId });
  });
  $('#dismiss').addEventListener('click', dismiss);

  const dialog = $('#transfer-dialog');
  const form = $('#transfer-form');
  $('#transfer').addEventListener('click', () => dialog.showModal());
  dialog.addEventListener('close', () => {
    const conversationId = selected();
    if (dialog.returnValue === 'transfer' && conversationId) {
      const frame = { type: 'transfer', id: newFrameId('a'), conversationId };
      frame[form.elements.target.value === 'agent' ? 'toAgent' : 'toSkill'] = form.elements.to.value.trim();
      const note = form.elements.note.value.trim();
      if (note) frame.note = note;
      send(frame);
    }
    form.reset();
    $('#transfer').focus();
  });
}
