// The setup wizard's other way in (docs/setup.md, "Restoring a box"): a new box made
// again from the backup its predecessor kept in a folder of a mail account (POST
// /restore, docs/backup.md), for someone whose old box died. The passphrase step
// offers it. Four screens, each with its heading focused:
//   the form      where the backup is (the account's IMAP server and login, and under
//                 Advanced the folder) and what opens it: the old passphrase, or the
//                 recovery key with a new passphrase (the passphrase step's fields)
//   the progress  GET /restore once a second: a bar while the store comes back, then
//                 an indeterminate one while the search index is rebuilt
//   the failure   why, in the box's words (an alert); a certificate that does not
//                 validate is shown by its fingerprint, as in the account step, and
//                 trusting it starts again with the pin; or back to the form
//   done          what came back; the box is unlocked with the passphrase (POST
//                 /session) and the mail opens, not the rest of the wizard
// What was typed, passwords too, stays in this object (for another try) and is
// never stored; it is cleared once the box is unlocked.

import { api, ApiError, setSession } from '../api.js';
import { h } from '../dom.js';
import { count, sentence } from '../format.js';
import {
  errorLine, field, groupedFingerprint, nextId, plainInput, stepFrame,
} from './wizard-frame.js';
import { NewPassphrase } from './wizard-passphrase.js';
import { PORTS } from './wizard-servers.js';

const POLL_MS = 1000;
const DEFAULT_FOLDER = 'Homepost Backup';
const SECURITY = {
  tls: 'TLS (also called SSL)',
  starttls: 'STARTTLS',
  plain: 'None (server on this box only)',
};
/** Codes of a refused claim (as for POST /vault): back to the claim screen. */
const CLAIM_LOST = new Set(['setup_token_required', 'wrong_setup_token', 'claimed']);
/** The fingerprint in the box's "…its SHA-256 fingerprint is AB:CD:…: trust it only if…". */
const FINGERPRINT = /SHA-256 fingerprint is ((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})/;
const SNAPSHOT_DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' });

/** Whether `host` is this box itself, where a password may go unencrypted (as the box decides). */
export function isLoopback(host) {
  const name = String(host || '').trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** The SHA-256 fingerprint a failed restore's message names, upper case, or null. */
export function certificateFingerprint(message) {
  const m = FINGERPRINT.exec(String(message || ''));
  return m ? m[1].toUpperCase() : null;
}

/** A radio button with its label, and a hint under it (described by, not named by). */
function radio(name, value, label, hint, checked = false) {
  const input = h('input', { id: nextId(name), type: 'radio', name, value, checked });
  const hintEl = hint ? h('p', { class: 'field-hint choice-hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return { input, el: h('div', {}, h('div', { class: 'check' }, input, h('label', { for: input.id }, label)), hintEl) };
}

/** Marks the wizard's progress done: a restored box has its accounts (best effort). */
async function setupDone() {
  try {
    const setup = await api.setup();
    if (setup && setup.step && setup.step !== 'done') await api.saveSetup('done');
  } catch {
    // The wizard then shows where the old box had left it.
  }
}

export class RestoreStep {
  /**
   * `setupToken`: the code from the setup address, sent along (as for the vault).
   * Callbacks: `onSession(session, summary)` once the restored box is unlocked
   * (`summary`: what came back, in a sentence), `onClaimLost(code)` and
   * `onRestart()` as for the passphrase step (the latter also when the box is
   * restored but could not be unlocked here), `onBack()` to choose a passphrase
   * for a new box instead.
   */
  constructor({ setupToken = null, onSession, onClaimLost, onRestart, onBack }) {
    this.setupToken = setupToken;
    this.callbacks = { onSession, onClaimLost, onRestart, onBack };
    /** The certificate trusted after a failure: {host, port, fingerprint}. */
    this.pin = null;
    /** The passphrase the restored box opens with, while a restore started here runs. */
    this.unlockWith = null;
    this.timer = null;
    /** Bumped by stop(): an answer to an older poll is dropped. */
    this.generation = 0;
    this.el = null;
    this.formFrame = this.buildForm();
    this.showForm();
  }

  buildForm() {
    this.error = errorLine();
    this.hostInput = plainInput('restore-host', {
      inputmode: 'url', required: true, oninput: () => this.securityChoices(),
    });
    this.security = h('select', { id: nextId('restore-security'), class: 'select', onchange: () => this.usualPort() });
    this.port = h('input', {
      id: nextId('restore-port'), type: 'number', min: '1', max: '65535', inputmode: 'numeric',
      class: 'port-input', value: String(PORTS.imap.tls),
      oninput: () => { this.autoPort = !this.port.value; },
    });
    this.autoPort = true;
    this.securityChoices();
    this.username = plainInput('restore-user', { required: true });
    this.password = h('input', {
      id: nextId('restore-password'), type: 'password', autocomplete: 'current-password', required: true,
      spellcheck: 'false', autocapitalize: 'off',
    });
    this.folder = plainInput('restore-folder', { value: DEFAULT_FOLDER });
    this.advanced = h('details', { class: 'wizard-advanced' }, h('summary', {}, 'Advanced'),
      field('Folder', this.folder, `Where your old box put its backups: "${DEFAULT_FOLDER}" unless you chose another.`));

    const how = nextId('restore-how');
    const byPassphrase = radio(how, 'passphrase', 'With my passphrase', null, true);
    const byKey = radio(how, 'key', 'With my recovery key',
      'If the passphrase is forgotten: the key your old box showed after its first backup.');
    this.byKey = byKey.input;
    this.oldPassphrase = h('input', {
      id: nextId('restore-passphrase'), type: 'password', autocomplete: 'current-password', required: true,
      spellcheck: 'false', autocapitalize: 'off',
    });
    this.key = plainInput('restore-key', { class: 'recovery-key-input', autocapitalize: 'characters' });
    this.newPass = new NewPassphrase({
      label: 'New passphrase', againLabel: 'Repeat the new passphrase', onInput: () => this.error.clear(),
    });
    this.passPanel = h('div', { class: 'restore-secret' },
      field('Passphrase of your old box', this.oldPassphrase,
        'The one you unlocked it with. This box will open with it too.'));
    this.keyPanel = h('div', { class: 'restore-secret', hidden: true },
      field('Recovery key', this.key,
        'Eight groups of four letters and digits, like 7K2M-\u2026. Capitals, spaces and dashes do not matter.'),
      h('p', {}, 'Then choose the passphrase this box will open with from now on.'),
      this.newPass.nodes);

    this.submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Restore my box');
    this.form = h('form', { class: 'auth-form restore-form', novalidate: true, onsubmit: (e) => this.onSubmit(e) },
      h('fieldset', { class: 'form-section' },
        h('legend', {}, 'Where the backup is'),
        field('Mail server', this.hostInput,
          'The incoming (IMAP) server of the mail account your old box backed up to, like imap.example.org.'),
        h('div', { class: 'field-row' }, field('Security', this.security), field('Port', this.port)),
        field('User name', this.username, 'The login of that mail account: usually the whole email address.'),
        field('Password', this.password, 'The mail account\u2019s password, not your Homepost passphrase.'),
        this.advanced),
      h('fieldset', { class: 'form-section' },
        h('legend', {}, 'How do you want to open it?'),
        byPassphrase.el,
        byKey.el,
        this.passPanel,
        this.keyPanel),
      this.error.el,
      this.submit);
    this.form.addEventListener('change', (event) => {
      if (event.target.name !== how) return;
      this.keyPanel.hidden = !this.byKey.checked;
      this.passPanel.hidden = this.byKey.checked;
      this.error.clear();
    });
    return stepFrame(null, 'Restore from a backup',
      h('p', {}, 'Everything your old box backed up \u2014 mail, contacts, accounts, keys and settings \u2014 comes '
        + 'back. Your passphrase never leaves this box.'),
      h('p', {}, 'Your old box kept its backups in a folder of one of your mail accounts (the one chosen under '
        + 'Settings \u2192 Backups). Type that account\u2019s server and login.'),
      this.form,
      h('p', { class: 'wizard-skip' },
        h('button', { type: 'button', class: 'link-button', onclick: () => this.callbacks.onBack() },
          'Set up a new box instead')));
  }

  /** "None" is offered only for a server on this box: the box refuses it for any other. */
  securityChoices() {
    const wanted = isLoopback(this.hostInput.value) ? ['tls', 'starttls', 'plain'] : ['tls', 'starttls'];
    if (this.security.options.length === wanted.length) return;
    const before = this.security.value || 'tls';
    this.security.replaceChildren(...wanted.map((v) => h('option', { value: v }, SECURITY[v])));
    this.security.value = wanted.includes(before) ? before : 'tls';
    if (this.security.value !== before) this.usualPort();
  }

  /** The usual port for the security chosen, unless one was typed. */
  usualPort() {
    if (this.autoPort || !this.port.value) {
      this.port.value = String(PORTS.imap[this.security.value]);
      this.autoPort = true;
    }
  }

  /** Shows `frame` ({el, heading} of stepFrame) in place of the screen shown, its heading focused. */
  swap(frame) {
    if (this.el && this.el !== frame.el && this.el.isConnected) this.el.replaceWith(frame.el);
    this.el = frame.el;
    this.heading = frame.heading;
    if (frame.el.isConnected) {
      window.scrollTo(0, 0);
      frame.heading.focus();
    }
  }

  stop() {
    this.generation += 1;
    clearTimeout(this.timer);
    this.newPass.stop();
  }

  // --- the form -----------------------------------------------------------------

  showForm() {
    this.view = 'form';
    this.submit.disabled = false;
    this.submit.textContent = 'Restore my box';
    this.form.setAttribute('aria-busy', 'false');
    this.swap(this.formFrame);
  }

  /** Marks `input` wrong, says `message` and focuses it; returns null. */
  invalid(input, message) {
    input.setAttribute('aria-invalid', 'true');
    this.error.show(message);
    input.focus();
    return null;
  }

  /**
   * What to send to POST /restore ({body, unlockWith}: the passphrase the restored box
   * opens with), or null after marking the first field that is wrong.
   */
  request() {
    for (const el of this.form.querySelectorAll('[aria-invalid="true"]')) el.setAttribute('aria-invalid', 'false');
    const host = this.hostInput.value.trim();
    if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) {
      return this.invalid(this.hostInput, 'Type the mail server\u2019s name, like imap.example.org.');
    }
    const port = Number(this.port.value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return this.invalid(this.port, 'The port is a number from 1 to 65535.');
    }
    const username = this.username.value.trim();
    if (!username) return this.invalid(this.username, 'Type the user name of the mail account.');
    if (!this.password.value) return this.invalid(this.password, 'Type the password of the mail account.');
    const source = {
      host, port, security: this.security.value, username, password: this.password.value,
      folder: this.folder.value.trim() || DEFAULT_FOLDER,
    };
    if (this.pin && this.pin.host === host && this.pin.port === port) source.pinned_sha256 = this.pin.fingerprint;
    if (this.byKey.checked) {
      const key = this.key.value.trim();
      if (key.replace(/[\s-]/g, '').length !== 32) {
        return this.invalid(this.key, 'A recovery key has 32 letters and digits, in eight groups of four. '
          + 'Type all of it.');
      }
      const pass = this.newPass.value((m) => this.error.show(m));
      if (pass === null) return null;
      return { body: { source, recovery_key: key, new_passphrase: pass }, unlockWith: pass };
    }
    if (!this.oldPassphrase.value) return this.invalid(this.oldPassphrase, 'Type the passphrase of your old box.');
    return { body: { source, passphrase: this.oldPassphrase.value }, unlockWith: this.oldPassphrase.value };
  }

  onSubmit(event) {
    event.preventDefault();
    this.error.clear();
    const asked = this.request();
    if (asked) this.start(asked);
  }

  /** Starts the restore (POST /restore); a refusal is said on the form. */
  async start(asked) {
    this.submit.disabled = true;
    this.submit.textContent = 'Starting\u2026';
    this.form.setAttribute('aria-busy', 'true');
    let view;
    try {
      view = await api.startRestore(asked.body, this.setupToken);
    } catch (err) {
      this.refused(err);
      return;
    }
    this.unlockWith = asked.unlockWith;
    this.showProgress(view);
  }

  refused(err) {
    const code = err instanceof ApiError ? err.code : '';
    if (code === 'vault_exists') {
      this.callbacks.onRestart();
      return;
    }
    if (CLAIM_LOST.has(code)) {
      this.callbacks.onClaimLost(code);
      return;
    }
    if (code === 'restore_running') {
      // Started elsewhere (another tab): its progress, but not its passphrase.
      this.unlockWith = null;
      this.showProgress(null);
      return;
    }
    this.showForm();
    if (code === 'weak_passphrase') {
      this.newPass.refused(err.message, (m) => this.error.show(m));
    } else if (code === 'bad_recovery_key') {
      this.invalid(this.key, sentence(err.message));
    } else {
      this.error.show(err instanceof ApiError && err.status === 429 ? err.message : sentence(err.message));
      this.error.el.focus();
    }
  }

  // --- the progress -------------------------------------------------------------

  /** The progress screen; `view` is a RestoreView already known (null: ask). */
  showProgress(view) {
    this.view = 'progress';
    const textId = nextId('restore-progress');
    this.progressText = h('p', { id: textId, class: 'restore-progress-text' }, 'Connecting to the mail server\u2026');
    this.bar = h('progress', { class: 'restore-bar', 'aria-labelledby': textId });
    this.reach = h('p', { class: 'field-hint' });
    this.swap(stepFrame(null, 'Restoring your box',
      h('p', {}, 'Homepost is fetching the backup from your mail account and putting everything back on this box. '
        + 'A large mailbox can take a while.'),
      h('div', { class: 'restore-progress', role: 'status', 'aria-live': 'polite' }, this.progressText, this.bar),
      this.reach));
    if (view) this.progress(view);
    this.poll();
  }

  /** The bar and its words for a running restore. */
  progress(v) {
    let text;
    if (v.phase === 'indexing') {
      this.bar.removeAttribute('value');
      text = 'Rebuilding the search index\u2026';
    } else if (v.total > 0) {
      this.bar.max = v.total;
      this.bar.value = Math.min(v.done, v.total);
      text = `Restoring: ${Math.floor((100 * Math.min(v.done, v.total)) / v.total)}% done`;
    } else {
      this.bar.removeAttribute('value');
      text = 'Reading the backup\u2026';
    }
    if (this.progressText.textContent !== text) this.progressText.textContent = text;
  }

  poll() {
    clearTimeout(this.timer);
    const generation = this.generation;
    this.timer = setTimeout(() => this.check(generation), POLL_MS);
  }

  async check(generation) {
    let v;
    try {
      v = await api.restoreStatus();
    } catch (err) {
      if (generation !== this.generation) return;
      const code = err instanceof ApiError ? err.code : '';
      if (CLAIM_LOST.has(code)) {
        this.callbacks.onClaimLost(code);
        return;
      }
      // The box is busy or out of reach for a moment: the restore goes on there.
      this.reach.textContent = `${sentence(err.message)} Still trying\u2026`;
      this.poll();
      return;
    }
    if (generation !== this.generation) return;
    this.reach.textContent = '';
    if (v.phase === 'done') this.finished(v);
    else if (v.phase === 'failed') this.showFailed(v.error);
    else if (v.phase === 'idle') this.showFailed('the restore stopped before it ended (the box may have restarted)');
    else {
      this.progress(v);
      this.poll();
    }
  }

  // --- the failure --------------------------------------------------------------

  /** Why it failed; a certificate to trust by its fingerprint; back to the form. */
  showFailed(message) {
    this.view = 'failed';
    const why = sentence(message || 'the restore stopped without saying why');
    const fingerprint = certificateFingerprint(message);
    const host = this.hostInput.value.trim();
    const back = h('button', {
      type: 'button', class: fingerprint ? 'button wide' : 'button primary wide',
      onclick: () => this.backToForm(why, message),
    }, 'Back to the form');
    this.swap(stepFrame(null, 'The restore did not work',
      h('div', { class: 'form-error', role: 'alert' }, fingerprint
        ? `${host} shows a certificate that Homepost cannot check. Look at it below.` : why),
      h('p', {}, 'Nothing was kept: this box is still new. Everything you typed is still in the form.'),
      fingerprint ? this.certificateBlock(host, fingerprint) : null,
      h('div', { class: 'wizard-actions' }, back)));
  }

  /** The fingerprint to compare, how to compare it, and the button that trusts it. */
  certificateBlock(host, fingerprint) {
    const titleId = nextId('cert-title');
    return h('section', { class: 'cert-warning', 'aria-labelledby': titleId },
      h('h2', { id: titleId, class: 'cert-title' }, `Check the certificate of ${host}`),
      h('p', {}, 'The server shows a certificate that Homepost cannot check with the usual authorities. That is '
        + 'normal for a server you run yourself; it is also exactly what someone who intercepts the connection '
        + 'to steal your password would show.'),
      h('p', {}, 'Its SHA-256 fingerprint:'),
      h('ol', { class: 'fingerprint-groups', 'aria-label': 'SHA-256 fingerprint, in groups' },
        groupedFingerprint(fingerprint).map((g) => h('li', {}, g))),
      h('p', {}, 'Compare it, group by group, with the fingerprint your provider shows (on its help pages) or your '
        + 'own server shows. Trust it only if every group is the same.'),
      h('button', { type: 'button', class: 'button danger', onclick: () => this.trust(fingerprint) },
        'Trust this certificate'));
  }

  /** Trusts the certificate for this server and starts again with everything as typed. */
  trust(fingerprint) {
    for (const button of this.el.querySelectorAll('button')) button.disabled = true;
    this.pin = { host: this.hostInput.value.trim(), port: Number(this.port.value), fingerprint };
    const asked = this.request();
    if (asked) this.start(asked);
    else this.showForm();
  }

  /** Back to the form, the reason said there, and the field it is most likely about marked. */
  backToForm(why, message) {
    this.showForm();
    this.error.show(why);
    const m = String(message || '');
    let suspect = null;
    if (/does not open the backup|not a recovery key/.test(m)) suspect = this.byKey.checked ? this.key : this.oldPassphrase;
    else if (/refused the login/.test(m)) suspect = this.password;
    else if (/no Homepost backup in|another box|more than one box/.test(m)) {
      this.advanced.open = true;
      suspect = this.folder;
    }
    if (suspect) suspect.setAttribute('aria-invalid', 'true');
  }

  // --- done ---------------------------------------------------------------------

  /** What came back, then the box unlocked with the passphrase and the mail. */
  async finished(v) {
    this.view = 'done';
    const when = v.snapshot_time ? ` from the backup of ${SNAPSHOT_DATE.format(new Date(v.snapshot_time * 1000))}` : '';
    const summary = Number.isFinite(v.messages)
      ? `Restored ${count(v.messages, 'message')}${when}.` : `Restored your box${when}.`;
    const status = h('p', { class: 'wizard-status', role: 'status' }, 'Opening your mail\u2026');
    const problem = errorLine();
    const unlock = h('button', {
      type: 'button', class: 'button primary wide', hidden: true, onclick: () => this.callbacks.onRestart(),
    }, 'Unlock your box');
    this.swap(stepFrame(null, 'Your box is back', h('p', {}, summary), status, problem.el, unlock));
    const pass = this.unlockWith;
    this.unlockWith = null;
    if (!pass) {
      status.textContent = '';
      unlock.hidden = false;
      return;
    }
    try {
      const session = await api.unlock(pass);
      setSession(session);
      this.forget();
      await setupDone();
      this.callbacks.onSession(session, summary);
    } catch (err) {
      status.textContent = '';
      problem.show(`${sentence(err.message)} Unlock it with its passphrase.`);
      unlock.hidden = false;
    }
  }

  /** The passwords and keys typed: gone once the box is open. */
  forget() {
    for (const input of [this.password, this.oldPassphrase, this.key]) input.value = '';
    this.newPass.clear();
  }
}
