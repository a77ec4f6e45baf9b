// Reply, reply all and forward, from the reader (message-view.js,
// conversation-view.js): the server makes the draft (POST /drafts with `reply`:
// recipients, subject, the quoted text or the message attached), then compose
// (compose.js, loaded with its route) opens it. Apart from compose, so that the
// reader loads without compose's modules.

import { api } from '../api.js';
import { h } from '../dom.js';
import { composeHash, navigate } from '../router.js';
import { announce } from '../mail-actions.js';
import { openSheet } from './sheet.js';

/** Creates a reply or forward draft of message `id` and opens it. */
export async function startReply(id, mode) {
  try {
    const draft = await api.createDraft({ reply: { id, mode } });
    navigate(composeHash(draft.id));
  } catch (err) {
    if (err.status !== 401) announce(`Could not start the reply: ${err.message}`, 'error');
  }
}

/** Asks how to forward message `id`: in the text, or the whole message attached. */
export function chooseForward(id) {
  const pick = (mode) => { dialog.close(); startReply(id, mode); };
  const inline = h('button', { type: 'button', class: 'button primary', onclick: () => pick('forward_inline') },
    'Forward in the text');
  const dialog = openSheet({
    title: 'Forward',
    className: 'confirm',
    content: [
      h('p', {}, 'Put the message in the text of yours, or attach it whole (as an .eml file, with its attachments)?'),
      h('div', { class: 'sheet-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => pick('forward_attached') }, 'Forward as attachment'),
        inline),
    ],
  });
  inline.focus();
}
