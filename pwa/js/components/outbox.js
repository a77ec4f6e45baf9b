// <hp-outbox>: messages being sent (GET /api/v1/outbox, polled every 3 s while the
// screen is shown), each with its state in words, and Retry / Cancel where the state
// allows them (POST /outbox/{id}/retry, /cancel).

import { api } from '../api.js';
import { h, icon, replace, syncList } from '../dom.js';
import { ICONS } from '../icons.js';
import { shortDateTime, fullDate } from '../format.js';
import { messageHash } from '../router.js';
import { announce } from '../mail-actions.js';
import { poll, FAST_MS, lastAccounts } from '../poll.js';

const RETRY_STATES = new Set(['deferred', 'failed', 'cancelled']);
const CANCEL_STATES = new Set(['queued', 'deferred', 'failed']);

/** The state of an item in plain words: [label, sentence]. */
function describe(item) {
  const next = item.next_attempt ? ` Next attempt at ${shortDateTime(item.next_attempt)}.` : '';
  const reason = item.last_error ? ` The server said: “${item.last_error}”.` : '';
  switch (item.state) {
    case 'queued':
      return ['Queued', `Waiting to be sent.${next}`];
    case 'sending':
      return ['Sending', 'Being sent right now.'];
    case 'sent':
      return ['Sent', item.sent_at ? `Sent at ${shortDateTime(item.sent_at)}.` : 'Sent.'];
    case 'deferred':
      return ['Not sent yet', `The mail server could not take it yet and it will be tried again.${reason}${next}`
        + (item.expires_at ? ` Homepost gives up at ${shortDateTime(item.expires_at)}.` : '')];
    case 'failed':
      return ['Failed', `It could not be sent.${reason || ' No reason was given.'} Check the address, or retry.`];
    case 'cancelled':
      return ['Cancelled', 'You cancelled it; it will not be sent unless you retry.'];
    default:
      return [item.state, ''];
  }
}

class HpOutbox extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.heading = h('h1', { class: 'page-title', id: 'outbox-title', tabindex: '-1' }, 'Outbox');
    this.list = h('ul', { class: 'card-list', 'aria-labelledby': 'outbox-title' });
    this.note = h('p', { class: 'list-empty' }, 'Loading…');
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    replace(this,
      h('div', { class: 'page-head' }, this.heading),
      h('p', { class: 'page-intro' }, 'Messages waiting to be sent, and those sent in the last 7 days.'),
      this.errorLine, this.note, this.list);
    this.poller = poll(() => this.load(), FAST_MS);
  }

  disconnectedCallback() {
    this.poller.stop();
  }

  async load() {
    let items;
    try {
      items = (await api.outbox()).items || [];
      this.errorLine.hidden = true;
    } catch (err) {
      if (err.status !== 401) {
        this.errorLine.textContent = `The outbox could not be loaded: ${err.message}`;
        this.errorLine.hidden = false;
      }
      return;
    }
    this.note.hidden = items.length > 0;
    this.note.textContent = 'Nothing is waiting to be sent.';
    const accounts = new Map(((lastAccounts() || {}).accounts || []).map((a) => [a.id, a]));
    syncList(this.list, items, (item) => item.id, (item) => this.card(item, accounts.get(item.account_id)));
  }

  card(item, account) {
    const [label, sentence] = describe(item);
    const subject = item.subject || '(no subject)';
    const titleId = `outbox-item-${item.id}`;
    return h('li', { class: 'card', 'aria-labelledby': titleId, dataset: { state: item.state } },
      h('div', { class: 'card-head' },
        h('h2', { class: 'card-title', id: titleId, tabindex: '-1' }, subject),
        h('span', { class: `state-badge state-${item.state}` }, label)),
      h('p', { class: 'card-line' }, `To: ${(item.to || []).join(', ')}`),
      account ? h('p', { class: 'card-line muted' }, `From: ${account.name} (${account.email})`) : null,
      h('p', { class: 'card-line' }, sentence),
      item.attempts > 0 && item.state !== 'sent'
        ? h('p', { class: 'card-line muted' }, `${item.attempts} ${item.attempts === 1 ? 'attempt' : 'attempts'} so far; queued ${fullDate(item.created_at)}.`)
        : null,
      h('div', { class: 'card-actions' },
        item.state === 'sent' && item.message_id
          ? h('a', { class: 'button', href: messageHash(item.message_id), dataset: { focusKey: 'open' } }, 'Show the sent message')
          : null,
        RETRY_STATES.has(item.state) ? h('button', {
          type: 'button', class: 'button', dataset: { focusKey: 'retry' }, 'aria-describedby': titleId,
          onclick: () => this.act(item, 'retry'),
        }, icon(ICONS.sync), item.state === 'cancelled' ? 'Send again' : 'Retry now') : null,
        CANCEL_STATES.has(item.state) ? h('button', {
          type: 'button', class: 'button', dataset: { focusKey: 'cancel' }, 'aria-describedby': titleId,
          onclick: () => this.act(item, 'cancel'),
        }, icon(ICONS.close), 'Cancel sending') : null));
  }

  async act(item, what) {
    try {
      await (what === 'retry' ? api.retry(item.id) : api.cancel(item.id));
      announce(what === 'retry' ? 'Queued again.' : 'Cancelled: it will not be sent.');
    } catch (err) {
      if (err.status === 401) return;
      announce(err.code === 'invalid_state'
        ? 'Too late: the message is being sent or was sent already.'
        : err.message, 'error');
    }
    this.poller.now();
  }
}

customElements.define('hp-outbox', HpOutbox);
