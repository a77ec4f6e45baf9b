// The wizard's last two steps. Remote access: the onion service (with its QR code)
// and the relay, the same parts as the Remote access page (remote-onion.js,
// remote-relay.js) fed by a poll of GET /remote, with "Not now". Done: a summary of
// what was set up, live (the account's first fetch from the shared accounts poll,
// remote access from GET /remote), the progress saved as done, and "Open my inbox".

import { api, ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { poll } from '../poll.js';
import { sentence } from '../format.js';
import { RemoteParts } from './remote-parts.js';
import { choiceWords } from './wizard-mail.js';
import { errorLine, stepFrame } from './wizard-frame.js';

const POLL_MS = 3000;

export class RemoteStep {
  constructor(wizard) {
    this.wizard = wizard;
    this.error = errorLine();
    // A failed read stays shown until the step is left (the page clears it).
    this.parts = new RemoteParts((message) => { if (message) this.error.show(message); });
    const next = (label, cls) => h('button', { type: 'button', class: cls, onclick: () => this.next() }, label);
    const frame = stepFrame('remote', 'Reach your mail from anywhere',
      h('p', {}, 'At home your phone reaches the box on your network. To read your mail anywhere else, the box '
        + 'can also be reached from the internet, in one of two ways or both. It still asks for your passphrase.'),
      h('p', {}, 'This can wait: Remote access in the menu has the same settings.'),
      h('div', { class: 'wizard-actions' }, next('Not now', 'button')),
      this.error.el,
      this.parts.onion.el,
      this.parts.relay.el,
      h('div', { class: 'wizard-actions' }, next('Continue', 'button primary')));
    this.el = frame.el;
    this.heading = frame.heading;
  }

  stop() {
    this.parts.stop();
  }

  async next() {
    this.error.clear();
    try {
      await this.wizard.advance('done', this.wizard.accountId);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) this.error.show(sentence(err.message));
    }
  }
}

/** An account's first fetch in words (its incoming status, else its outgoing one). */
function accountWords(account) {
  const st = account.status || {};
  const inc = st.incoming;
  if (!inc) return 'Connecting to the server\u2026';
  if (inc.error) return `Problem: ${sentence(inc.error.message || inc.error.code)}`;
  const progress = inc.progress && inc.progress.total > 0
    ? ` (${inc.progress.done.toLocaleString()} of ${inc.progress.total.toLocaleString()})` : '';
  switch (inc.state) {
    case 'idle': return inc.last_success ? 'Up to date.' : 'Connected.';
    case 'syncing': return `Fetching your mail${progress}\u2026`;
    case 'connecting': return 'Connecting to the server\u2026';
    case 'waiting': return `Waiting. ${sentence(inc.detail)}`.trim();
    case 'stopped': return 'Stopped.';
    default: return sentence(inc.detail || inc.state);
  }
}

/** Remote access in words, from GET /remote. */
function remoteWords(answer) {
  const parts = [];
  if (answer.onion) {
    const on = { running: 'on', starting: 'starting', publishing: 'starting' }[answer.onion.state] || answer.onion.state;
    parts.push(`Tor (onion service): ${on}, ${answer.onion.address}.`);
  }
  if (answer.pagekite) parts.push(`Relay: ${answer.pagekite.kite} (${answer.pagekite.state}).`);
  return parts.length ? parts.join(' ') : 'Off: the box is reached only on your home network. Remote access in the menu turns it on.';
}

export class DoneStep {
  constructor(wizard) {
    this.wizard = wizard;
    this.error = errorLine();
    this.accountLine = h('span', { role: 'status', 'aria-live': 'polite' }, 'Loading\u2026');
    this.accountName = h('dd', {}, wizard.accountId === null ? 'None yet.' : '');
    this.choiceLine = h('dd', {}, choiceWords(wizard.choice));
    this.remoteLine = h('dd', {}, 'Loading\u2026');
    this.open = h('button', { type: 'button', class: 'button primary wide', onclick: () => this.finish() }, 'Open my inbox');
    const rows = [h('dt', {}, 'Mail account'), this.accountName];
    if (wizard.accountId !== null) rows.push(h('dd', {}, this.accountLine), h('dt', {}, 'Existing mail'), this.choiceLine);
    else rows.push(h('dd', { class: 'muted' }, 'Add one, or import mail files, from the menu whenever you like.'));
    rows.push(h('dt', {}, 'Remote access'), this.remoteLine);
    const frame = stepFrame('done', 'Homepost is ready',
      h('p', {}, wizard.accountId === null ? 'Your box is set up.'
        : 'Your box is set up, and your mail is on its way into it. You can start reading while it arrives.'),
      h('dl', { class: 'wizard-summary' }, rows),
      this.error.el,
      this.open);
    this.el = frame.el;
    this.heading = frame.heading;
    this.saved = this.save();
    if (wizard.accountId !== null) this.poller = poll(() => this.loadAccount(), POLL_MS);
    this.loadRemote();
  }

  stop() {
    if (this.poller) this.poller.stop();
    this.poller = null;
  }

  /** The progress saved as done: from now on the box opens on the mail. */
  async save() {
    try {
      await api.saveSetup('done', this.wizard.accountId);
      return true;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) this.error.show(sentence(err.message));
      return false;
    }
  }

  async loadAccount() {
    const answer = await api.accounts();
    const account = (answer.accounts || []).find((a) => a.id === this.wizard.accountId);
    if (!account) {
      this.accountName.textContent = 'None yet.';
      this.accountLine.textContent = '';
      return;
    }
    const name = account.display_name ? `${account.display_name} <${account.email}>` : account.email;
    if (this.accountName.textContent !== name) this.accountName.textContent = name;
    const words = accountWords(account);
    if (this.accountLine.textContent !== words) this.accountLine.textContent = words;
    const first = account.incoming && account.incoming.first_sync;
    if (!this.wizard.choice && first) {
      replace(this.choiceLine, choiceWords({
        scope: first.scope, folders: account.incoming.folders.length > 1 ? 'all' : 'inbox',
        folderCount: account.incoming.folders.length, markRead: first.mark_read,
      }));
    }
  }

  async loadRemote() {
    try {
      this.remoteLine.textContent = remoteWords(await api.remote());
    } catch (err) {
      this.remoteLine.textContent = err.status === 404 ? 'Not available on this box.' : 'Could not be read.';
    }
  }

  async finish() {
    this.open.disabled = true;
    if (!(await this.saved)) this.saved = this.save();
    if (!(await this.saved)) {
      this.open.disabled = false;
      return;
    }
    this.wizard.finish();
  }
}
