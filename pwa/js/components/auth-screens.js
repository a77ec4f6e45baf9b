// The screens shown before there is a session: create the vault, unlock it, and
// "cannot reach the box". Each is a light-DOM custom element that dispatches
// `hp-session` (detail: the session answer) once it has a session.

import { api, setSession, ApiError } from '../api.js';
import { h, replace } from '../dom.js';

const MIN_PASSPHRASE = 10;

let fieldCount = 0;

/** A labelled password field with its own error line (aria-describedby). */
function passwordField(label, autocomplete, hint = null) {
  fieldCount += 1;
  const id = `pw-${fieldCount}`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', {
    id, type: 'password', name: id, required: true, autocomplete,
    'aria-describedby': hintId, spellcheck: 'false', autocapitalize: 'off',
  });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('p', { id: hintId, class: 'field-hint' }, hint) : null);
  return { wrap, input };
}

function brand() {
  return h('div', { class: 'brand' },
    h('img', { src: '/icons/icon.svg', alt: '', width: '56', height: '56' }),
    h('p', { class: 'brand-name' }, 'Homepost'));
}

/** A hidden user name, so that password managers file the passphrase under "Homepost". */
function accountField() {
  return h('input', {
    type: 'text', name: 'username', autocomplete: 'username', value: 'Homepost', hidden: true, tabindex: '-1',
  });
}

/** A "show passphrase" checkbox for the given inputs. */
function revealToggle(inputs) {
  fieldCount += 1;
  const id = `reveal-${fieldCount}`;
  const box = h('input', {
    id, type: 'checkbox',
    onchange: () => inputs.forEach((i) => { i.type = box.checked ? 'text' : 'password'; }),
  });
  return h('div', { class: 'check' }, box, h('label', { for: id }, 'Show passphrase'));
}

/** Base of the two forms: error line, busy state, 429 countdown. */
class AuthForm extends HTMLElement {
  showError(message) {
    this.errorLine.textContent = message;
    this.errorLine.hidden = !message;
  }

  setBusy(busy, label) {
    this.submit.disabled = busy;
    this.submit.textContent = label;
    this.form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  /** Keeps the form disabled while the server throttles, counting down. */
  throttle(seconds, idleLabel) {
    clearInterval(this.countdown);
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(this.countdown);
        this.setBusy(false, idleLabel);
        this.showError('');
        return;
      }
      this.submit.disabled = true;
      this.submit.textContent = `Wait ${left} s`;
      left -= 1;
    };
    this.showError(`Too many attempts, try again in ${seconds} seconds.`);
    tick();
    this.countdown = setInterval(tick, 1000);
  }

  disconnectedCallback() {
    clearInterval(this.countdown);
  }

  done(session) {
    setSession(session);
    this.dispatchEvent(new CustomEvent('hp-session', { bubbles: true, detail: session }));
  }
}

/**
 * The setup code from the address the box printed (`/#setup=CODE`), taken out of
 * the address bar at once so that it is not left in the history.
 */
export function takeSetupToken() {
  if (!window.location.hash.startsWith('#setup=')) return null;
  // Out of the address bar (and the history) whatever it holds.
  const match = /^#setup=([0-9A-Za-z-]{1,64})$/.exec(window.location.hash);
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return match ? match[1] : null;
}

let setupTokenFromUrl = null;

/**
 * First run: create the vault. With `token-required`, a device other than the box
 * itself must bring the setup code the box printed when it started: from the
 * address it showed (QR code), or typed.
 */
class HpSetup extends AuthForm {
  connectedCallback() {
    if (this.form) return;
    setupTokenFromUrl = takeSetupToken() || setupTokenFromUrl;
    const needsCode = this.hasAttribute('token-required') && !setupTokenFromUrl;
    const first = passwordField('Passphrase', 'new-password',
      `At least ${MIN_PASSPHRASE} characters. A few unrelated words are easy to type and hard to guess.`);
    const second = passwordField('Repeat the passphrase', 'new-password');
    this.first = first.input;
    this.second = second.input;
    this.first.minLength = MIN_PASSPHRASE;
    let codeField = null;
    if (needsCode) {
      fieldCount += 1;
      const id = `setup-code-${fieldCount}`;
      this.code = h('input', {
        id, type: 'text', name: 'setup-code', required: true, autocomplete: 'off',
        spellcheck: 'false', autocapitalize: 'characters', 'aria-describedby': `${id}-hint`,
      });
      codeField = h('div', { class: 'field' },
        h('label', { for: id }, 'Setup code'),
        this.code,
        h('p', { id: `${id}-hint`, class: 'field-hint' },
          'The box shows it on its screen when it starts (or run journalctl -u homepost on the box). '
          + 'It proves this box is yours.'));
    }
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Create vault');
    this.form = h('form', { class: 'auth-form', novalidate: true, onsubmit: (e) => this.onSubmit(e) },
      accountField(), codeField, first.wrap, second.wrap, revealToggle([this.first, this.second]), this.errorLine, this.submit);
    replace(this, h('main', { class: 'auth', id: 'main' },
      h('div', { class: 'auth-card' },
        brand(),
        h('h1', {}, 'Create your vault'),
        h('p', {}, 'Homepost keeps all your mail encrypted on this box. '
          + 'Your passphrase unlocks it; it is never stored anywhere.'),
        h('p', { class: 'warning-note' },
          h('strong', {}, 'Write it down somewhere safe. '),
          'Nobody can recover a forgotten passphrase: without it your mail stays locked for good.'),
        this.form)));
    (this.code || this.first).focus();
  }

  async onSubmit(event) {
    event.preventDefault();
    const pass = this.first.value;
    this.first.setAttribute('aria-invalid', 'false');
    this.second.setAttribute('aria-invalid', 'false');
    if (this.code) {
      this.code.setAttribute('aria-invalid', 'false');
      if (!this.code.value.trim()) {
        this.code.setAttribute('aria-invalid', 'true');
        this.showError('Enter the setup code the box shows.');
        this.code.focus();
        return;
      }
    }
    if (pass.length < MIN_PASSPHRASE) {
      this.first.setAttribute('aria-invalid', 'true');
      this.showError(`The passphrase needs at least ${MIN_PASSPHRASE} characters.`);
      this.first.focus();
      return;
    }
    if (pass !== this.second.value) {
      this.second.setAttribute('aria-invalid', 'true');
      this.showError('The two passphrases differ. Type the same one twice.');
      this.second.focus();
      return;
    }
    this.showError('');
    this.setBusy(true, 'Creating…');
    try {
      const token = this.code ? this.code.value.trim() : setupTokenFromUrl;
      const session = await api.createVault(pass, token);
      this.first.value = '';
      this.second.value = '';
      setupTokenFromUrl = null;
      this.done(session);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'vault_exists') {
        // Someone else created it meanwhile: go to the unlock screen.
        this.dispatchEvent(new CustomEvent('hp-restart', { bubbles: true }));
        return;
      }
      this.setBusy(false, 'Create vault');
      if (err instanceof ApiError && err.status === 429) this.throttle(err.retryAfter, 'Create vault');
      else if (err instanceof ApiError && /setup_token/.test(err.code)) {
        // A code from the address was wrong (an old one): ask for it instead.
        setupTokenFromUrl = null;
        if (!this.code) {
          const typed = [this.first.value, this.second.value];
          this.form = null;
          this.setAttribute('token-required', '');
          replace(this);
          this.connectedCallback();
          [this.first.value, this.second.value] = typed;
        }
        this.showError(err.code === 'wrong_setup_token'
          ? 'That setup code is not this box\'s. Check it on the box\'s screen and try again.'
          : err.message);
        this.code.setAttribute('aria-invalid', 'true');
        this.code.focus();
        return;
      } else this.showError(err.message);
      this.first.focus();
    }
  }
}

/** Unlock with the passphrase (the box is locked, or this browser has no session). */
class HpUnlock extends AuthForm {
  connectedCallback() {
    if (this.form) return;
    const field = passwordField('Passphrase', 'current-password');
    this.input = field.input;
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Unlock');
    this.form = h('form', { class: 'auth-form', novalidate: true, onsubmit: (e) => this.onSubmit(e) },
      accountField(), field.wrap, revealToggle([this.input]), this.errorLine, this.submit);
    const locked = this.getAttribute('state') === 'locked';
    const notice = this.getAttribute('notice');
    replace(this, h('main', { class: 'auth', id: 'main' },
      h('div', { class: 'auth-card' },
        brand(),
        h('h1', {}, 'Unlock Homepost'),
        h('p', {}, locked
          ? 'Your mail is encrypted and locked. Enter your passphrase to open it on this device.'
          : 'Enter your passphrase to open your mail on this device.'),
        notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
        this.form)));
    this.input.focus();
  }

  async onSubmit(event) {
    event.preventDefault();
    const pass = this.input.value;
    if (!pass) {
      this.input.setAttribute('aria-invalid', 'true');
      this.showError('Enter your passphrase.');
      this.input.focus();
      return;
    }
    this.input.setAttribute('aria-invalid', 'false');
    this.showError('');
    this.setBusy(true, 'Unlocking…');
    try {
      const session = await api.unlock(pass);
      this.input.value = '';
      this.done(session);
    } catch (err) {
      this.setBusy(false, 'Unlock');
      if (err instanceof ApiError && err.code === 'no_vault') {
        this.dispatchEvent(new CustomEvent('hp-restart', { bubbles: true }));
        return;
      }
      if (err instanceof ApiError && err.status === 429) {
        this.throttle(err.retryAfter, 'Unlock');
      } else {
        this.input.setAttribute('aria-invalid', err.code === 'wrong_passphrase' ? 'true' : 'false');
        this.showError(err.message);
      }
      this.input.select();
      this.input.focus();
    }
  }
}

/** The box cannot be reached (offline, or the server is down). */
class HpOffline extends HTMLElement {
  connectedCallback() {
    if (this.childElementCount) return;
    const retry = h('button', {
      type: 'button', class: 'button primary wide',
      onclick: () => this.dispatchEvent(new CustomEvent('hp-restart', { bubbles: true })),
    }, 'Try again');
    replace(this, h('main', { class: 'auth', id: 'main' },
      h('div', { class: 'auth-card' },
        brand(),
        h('h1', {}, 'You are offline'),
        h('p', {}, 'Homepost cannot reach your box right now, so it stays locked. '
          + 'Your mail is never stored on this device; connect to the network and try again.'),
        h('p', { class: 'form-error', role: 'alert', hidden: !this.getAttribute('detail') },
          this.getAttribute('detail') || ''),
        retry)));
    retry.focus();
  }
}

customElements.define('hp-setup', HpSetup);
customElements.define('hp-unlock', HpUnlock);
customElements.define('hp-offline', HpOffline);
