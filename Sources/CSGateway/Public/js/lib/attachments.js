// Attachments (docs/api.md, "Attachments"): upload with progress, and how a message's file is
// shown: images as thumbnails, other files as download links. Both go through a short-lived
// download link asked for when the message is drawn (and again when a file link is clicked).

import { h } from './dom.js';

let config = { base: '', token: () => null };

/** The gateway's base URL and the caller's token, set once by the widget or the console. */
export function configureAttachments(options) {
  config = { ...config, ...options };
}

/** Largest upload the server takes by default (it answers 413 too_large beyond). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/**
 * Uploads `file` to a conversation; resolves with the reference {id, name, type, size}.
 * `onProgress(fraction)` follows the upload (XMLHttpRequest: fetch reports no upload progress).
 */
export function uploadFile(conversationId, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    if (file.size > MAX_UPLOAD_BYTES) {
      reject(Object.assign(new Error(`The file is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`), { code: 'too_large' }));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${config.base}/v1/conversations/${encodeURIComponent(conversationId)}/attachments?name=${encodeURIComponent(file.name)}`);
    const token = config.token();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); });
    xhr.addEventListener('load', () => {
      let answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201) resolve(answer);
      else reject(Object.assign(new Error(answer.error?.message || `Upload failed (HTTP ${xhr.status})`), { code: answer.error?.code }));
    });
    xhr.addEventListener('error', () => reject(Object.assign(new Error('The upload failed; check your connection.'), { code: 'network' })));
    xhr.send(file);
  });
}

async function downloadURL(conversationId, attachment) {
  const response = await fetch(`${config.base}/v1/conversations/${encodeURIComponent(conversationId)}/attachments/${encodeURIComponent(attachment.id)}/link`, {
    headers: { Authorization: `Bearer ${config.token()}` },
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return config.base + (await response.json()).url;
}

/** A paperclip (inline SVG: no emoji font needed). */
function paperclip() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'paperclip');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '1.8');
  path.setAttribute('stroke-linecap', 'round');
  svg.append(path);
  return svg;
}

function sizeText(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${Math.round(size / 1024)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

/** The element for a message's attachment: a thumbnail for images, a download link otherwise. */
export function attachmentElement(conversationId, attachment) {
  const label = `${attachment.name} (${sizeText(attachment.size)})`;
  if (attachment.type?.startsWith('image/')) {
    const img = h('img', { class: 'attachment-thumb', alt: attachment.name, title: label, loading: 'lazy' });
    const link = h('a', { class: 'attachment attachment-image', target: '_blank', rel: 'noopener noreferrer', dataset: { attachmentId: attachment.id } }, img);
    downloadURL(conversationId, attachment).then((url) => { img.src = url; link.href = url; }, () => { img.alt = `${attachment.name} (unavailable)`; });
    return link;
  }
  const link = h('a', { class: 'attachment attachment-file', href: '#', rel: 'noopener noreferrer', dataset: { attachmentId: attachment.id } }, paperclip(), label);
  link.addEventListener('click', async (event) => {
    event.preventDefault();
    try {
      window.location.assign(await downloadURL(conversationId, attachment));
    } catch {
      link.replaceChildren(paperclip(), `${attachment.name} (unavailable)`);
    }
  });
  return link;
}

/**
 * An attach button, a hidden file input, a progress bar, and drag-and-drop onto `dropTarget`.
 * `onFile(file)` gets each chosen or dropped file; `progress` shows while it uploads.
 */
export function attachControls(dropTarget, onFile) {
  const input = h('input', { type: 'file', class: 'attachment-input', hidden: true, accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain' });
  const button = h('button', { type: 'button', class: 'attach-button', 'aria-label': 'Attach a file', title: 'Attach a file (or drop it here)' }, paperclip());
  const progress = h('progress', { class: 'attachment-progress', max: '1', value: '0', hidden: true, 'aria-label': 'Upload progress' });
  button.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    for (const file of input.files) onFile(file);
    input.value = '';
  });
  dropTarget.addEventListener('dragover', (event) => { event.preventDefault(); dropTarget.classList.add('dropping'); });
  dropTarget.addEventListener('dragleave', () => dropTarget.classList.remove('dropping'));
  dropTarget.addEventListener('drop', (event) => {
    event.preventDefault();
    dropTarget.classList.remove('dropping');
    for (const file of event.dataTransfer?.files ?? []) onFile(file);
  });
  return { input, button, progress };
}
