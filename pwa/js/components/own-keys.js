// <hp-own-keys>: the "Encryption key" section of the accounts screen: the user's
// own OpenPGP keys (GET /keys) by address, the one in use and the older ones, each
// public key as a download, and "Move key to another app" (an Autocrypt Setup
// Message, setup-message.js). Keys are asked for again when the accounts change
// (adding an account makes its key).

import { api, urls } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { fingerprintGroups, shortDate } from '../format.js';
import { lastAccounts } from '../poll.js';
import { moveKey } from './setup-message.js';

/** "today" or a date ("Mar 5", "Mar 5, 2021"). */
function madeOn(unixSeconds) {
  return new Date(unixSeconds * 1000).toDateString() === new Date().toDateString() ? 'today' : shortDate(unixSeconds);
}

/** What of the accounts matters here: their addresses and whether they can send. */
function accountsKey(accounts) {
  return JSON.stringify((accounts || []).map((a) => [a.id, String(a.email || '').toLowerCase(), Boolean(a.outgoing)]));
}

class HpOwnKeys extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.keys = null;
    this.heading = h('h2', { class: 'section-title', id: 'own-keys-title', tabindex: '-1' }, 'Encryption key');
    this.note = h('p', { class: 'list-empty', role: 'status' }, 'Loading\u2026');
    this.list = h('ul', { class: 'card-list', 'aria-labelledby': 'own-keys-title' });
    replace(this, h('section', { class: 'own-keys', 'aria-labelledby': 'own-keys-title' },
      h('div', { class: 'section-head' }, this.heading),
      h('p', { class: 'page-intro' }, 'Homepost signs the mail you send and reads the mail encrypted to you with '
        + 'these OpenPGP keys. Your mail carries the public key (Autocrypt), so people who use it can write '
        + 'to you encrypted.'),
      this.note, this.list));
    this.seen = accountsKey((lastAccounts() || {}).accounts);
    this.onAccounts = (event) => {
      if (!event.detail || event.detail.error) return;
      const now = accountsKey(event.detail.accounts);
      if (now === this.seen) return;
      this.seen = now;
      this.load();
    };
    window.addEventListener('hp:accounts', this.onAccounts);
    this.load();
  }

  disconnectedCallback() {
    window.removeEventListener('hp:accounts', this.onAccounts);
    if (this.abort) this.abort.abort();
  }

  async load() {
    if (this.abort) this.abort.abort();
    const abort = new AbortController();
    this.abort = abort;
    try {
      const answer = await api.keys({ signal: abort.signal });
      this.keys = answer.keys || [];
      this.render();
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401) return;
      this.note.textContent = `Your keys could not be loaded: ${err.message}`;
      this.note.hidden = false;
    }
  }

  render() {
    const byAddress = new Map();
    for (const key of this.keys) {
      if (!byAddress.has(key.address)) byAddress.set(key.address, []);
      byAddress.get(key.address).push(key);
    }
    this.note.hidden = byAddress.size > 0;
    this.note.textContent = 'No key yet: adding an account makes one for its address.';
    const accounts = (lastAccounts() || {}).accounts || [];
    replace(this.list, [...byAddress].map(([address, keys]) => this.card(address, keys, accounts)));
  }

  card(address, keys, accounts) {
    // The key in use first, then older ones, newest first.
    const sorted = [...keys].sort((a, b) => Number(b.active) - Number(a.active) || b.created_at - a.created_at);
    const account = accounts.find((a) => String(a.email || '').toLowerCase() === address.toLowerCase());
    const titleId = `own-key-${address.replace(/[^a-z0-9]/gi, '-')}`;
    let move = null;
    if (account && account.outgoing && sorted.some((k) => k.active)) {
      move = h('button', {
        type: 'button', class: 'button', 'aria-describedby': titleId,
        onclick: () => moveKey({ address, accountId: account.id }),
      }, icon(ICONS.send), 'Move key to another app\u2026');
    } else if (account) {
      move = h('p', { class: 'card-line muted' },
        'To move this key to another app, the account needs an outgoing (SMTP) server.');
    }
    return h('li', { class: 'card own-key-card', 'aria-labelledby': titleId },
      h('div', { class: 'card-head' }, h('h3', { class: 'card-title', id: titleId }, address)),
      h('ul', { class: 'own-key-list' }, sorted.map((k) => this.keyRow(k))),
      move ? h('div', { class: 'card-actions' }, move) : null);
  }

  keyRow(k) {
    return h('li', { class: k.active ? 'own-key active' : 'own-key' },
      h('p', { class: 'card-line' },
        h('span', { class: `state-badge ${k.active ? 'state-idle' : ''}`.trim() }, k.active ? 'In use' : 'Older'),
        ' ',
        h('span', { class: 'muted' }, k.active
          ? `For new mail; since ${madeOn(k.created_at)}`
          : `Only reads older mail; from ${madeOn(k.created_at)}`)),
      h('p', { class: 'fingerprint' }, fingerprintGroups(k.fingerprint)),
      h('a', {
        class: 'button own-key-download', href: urls.publicKey(k.fingerprint), download: true,
        'aria-label': `Download public key ${fingerprintGroups(k.fingerprint).slice(-9)}`,
      }, icon(ICONS.download), 'Download public key'));
  }
}

customElements.define('hp-own-keys', HpOwnKeys);
