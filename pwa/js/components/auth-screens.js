// The screens shown before there is a session: unlock the box, and "cannot reach
// the box" (claiming a new box and creating the vault, the wizard's first steps, are
// <hp-setup> in setup-screen.js, loaded only for a box without a vault). Each is a
// light-DOM custom element that dispatches `hp-session` (detail: the session answer)
// once it has a session.

import { api, setSession, ApiError } from '../api.js';
import { h, replace } from '../dom.js';

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

/** The logo and name over each of these screens (and <hp-setup>'s, setup-screen.js). */
export function brand() {
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

customElements.define('hp-unlock', HpUnlock);
customElements.define('hp-offline', HpOffline);
