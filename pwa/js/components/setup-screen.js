// <hp-setup>: the first screen of a new box, before there is a vault: claim the box
// with its setup code, then the wizard's passphrase step (or "Restore from a
// backup"). Loaded only when GET /status says `no_vault` (app.js), so a box in use
// never fetches it, nor the wizard steps it needs, at start.

import { api, setSession, ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { brand } from './auth-screens.js';
import { PassphraseStep } from './wizard-passphrase.js';
import { RestoreStep } from './wizard-restore.js';

let fieldCount = 0;

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
 * First run, before the vault: claiming the box with its setup code (only when the
 * box asks for one and this browser has not claimed it yet, `claimed` in GET /status),
 * then the wizard's passphrase step (wizard-passphrase.js), which creates the vault.
 * The code comes from the setup address (`/#setup=CODE`, claimed at once without
 * typing) or is typed. `POST /claim` gives this browser an HttpOnly claim cookie, so
 * a reload goes straight to the passphrase; a box without `/claim` (older server)
 * takes the code with the vault instead. Beside the passphrase, "Restore from a
 * backup" (wizard-restore.js) makes the box again from an old box's backup; a reload
 * while that runs comes back to its progress.
 */
class HpSetup extends HTMLElement {
  connectedCallback() {
    if (this.started) return;
    this.started = true;
    setupTokenFromUrl = takeSetupToken() || setupTokenFromUrl;
    const needsClaim = this.hasAttribute('token-required') && !this.hasAttribute('claimed');
    if (!needsClaim) {
      this.showPassphrase(setupTokenFromUrl);
      this.resumeRestore(setupTokenFromUrl);
    } else if (setupTokenFromUrl) this.claim(setupTokenFromUrl, true);
    else this.showClaim();
  }

  disconnectedCallback() {
    if (this.step && this.step.stop) this.step.stop();
    clearInterval(this.countdown);
  }

  show(step, focus) {
    if (this.step && this.step.stop) this.step.stop();
    this.step = step;
    replace(this, step.el);
    focus.focus();
  }

  /** The claim screen: the setup code field; `problem` is said in the error line. */
  showClaim(problem = null, wrongCode = false) {
    fieldCount += 1;
    const id = `setup-code-${fieldCount}`;
    const code = h('input', {
      id, type: 'text', name: 'setup-code', required: true, autocomplete: 'off', spellcheck: 'false',
      autocapitalize: 'characters', 'aria-describedby': `${id}-hint`, 'aria-invalid': wrongCode ? 'true' : 'false',
    });
    const errorLine = h('p', { class: 'form-error', role: 'alert', hidden: !problem }, problem || '');
    const submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Continue');
    const form = h('form', {
      class: 'auth-form', novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        const typed = code.value.trim();
        if (!typed) {
          code.setAttribute('aria-invalid', 'true');
          errorLine.textContent = 'Type the setup code the box shows.';
          errorLine.hidden = false;
          code.focus();
          return;
        }
        submit.disabled = true;
        submit.textContent = 'Checking\u2026';
        this.claim(typed, false);
      },
    },
    h('div', { class: 'field' },
      h('label', { for: id }, 'Setup code'),
      code,
      h('p', { id: `${id}-hint`, class: 'field-hint' },
        'Four groups of five letters and digits. The box shows it on its screen when it starts '
        + '(or run journalctl -u homepost on the box).')),
    errorLine, submit);
    const heading = h('h1', { tabindex: '-1' }, 'Claim this box');
    this.show({
      el: h('main', { class: 'auth', id: 'main' },
        h('div', { class: 'auth-card' },
          brand(),
          heading,
          h('p', {}, 'Welcome to Homepost. To prove that this box is yours, type the setup code it shows. '
            + 'Then you choose a passphrase, connect your mail account, and you are done.'),
          form)),
      stop: () => clearInterval(this.countdown),
    }, problem ? code : heading);
    this.submitButton = submit;
  }

  /** Claims the box with `code` (`fromUrl`: it came from the setup address). */
  async claim(code, fromUrl) {
    if (fromUrl) {
      const heading = h('h1', { tabindex: '-1' }, 'Claim this box');
      this.show({
        el: h('main', { class: 'auth', id: 'main' }, h('div', { class: 'auth-card' }, brand(), heading,
          h('p', { role: 'status' }, 'Checking the setup code from the address\u2026'))),
      }, heading);
    }
    try {
      await api.claim(code);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      const errCode = err instanceof ApiError ? err.code : '';
      if (status === 404 || status === 405) {
        // A box without POST /claim: the code goes with the vault.
        this.showPassphrase(code);
        return;
      }
      if (errCode === 'vault_exists') {
        this.dispatchEvent(new CustomEvent('hp-restart', { bubbles: true }));
        return;
      }
      if (fromUrl) setupTokenFromUrl = null;
      if (errCode === 'wrong_setup_token' || errCode === 'setup_token_required' || errCode === 'claimed') {
        this.claimRefused(errCode);
      } else if (status === 429) {
        this.showClaim(`Too many attempts, try again in ${err.retryAfter} seconds.`);
        this.wait(err.retryAfter);
      } else {
        this.showClaim(err.message);
      }
      return;
    }
    this.showPassphrase(fromUrl ? code : null);
    this.resumeRestore(fromUrl ? code : null);
  }

  /** The claim screen again, saying why the box refused: `code` is the API's error code. */
  claimRefused(code) {
    if (code === 'claimed') {
      this.showClaim('This box is already being set up from another device. Finish the setup there, or '
        + 'restart the box to get a new setup code and start again here.');
    } else if (code === 'wrong_setup_token') {
      this.showClaim('That is not this box\u2019s setup code. Check it on the box\u2019s screen (or in its '
        + 'journal) and type it again.', true);
    } else {
      this.showClaim('The box asks for its setup code again: a claim lasts an hour, and a restart ends it. '
        + 'Type the code the box shows now.');
    }
  }

  /** Keeps the claim screen's button disabled while the server throttles. */
  wait(seconds) {
    clearInterval(this.countdown);
    let left = seconds;
    const button = this.submitButton;
    const tick = () => {
      if (left <= 0) {
        clearInterval(this.countdown);
        button.disabled = false;
        button.textContent = 'Continue';
        return;
      }
      button.disabled = true;
      button.textContent = `Wait ${left} s`;
      left -= 1;
    };
    tick();
    this.countdown = setInterval(tick, 1000);
  }

  /** What the passphrase and restore steps do once they have a session, or lost the claim. */
  stepCallbacks() {
    return {
      onSession: (session, notice = null) => {
        setupTokenFromUrl = null;
        this.restore = null;
        setSession(session);
        this.dispatchEvent(new CustomEvent('hp-session', {
          bubbles: true, detail: notice ? { ...session, notice } : session,
        }));
      },
      onClaimLost: (code) => {
        setupTokenFromUrl = null;
        this.restore = null;
        this.claimRefused(code);
      },
      onRestart: () => this.dispatchEvent(new CustomEvent('hp-restart', { bubbles: true })),
    };
  }

  showPassphrase(setupToken) {
    const step = new PassphraseStep({
      setupToken,
      ...this.stepCallbacks(),
      onRestore: () => this.showRestore(setupToken),
    });
    this.show(step, step.heading);
  }

  /** "Restore from a backup": the same form again (what was typed kept) if it was left. */
  showRestore(setupToken) {
    if (!this.restore) {
      this.restore = new RestoreStep({
        setupToken,
        ...this.stepCallbacks(),
        onBack: () => this.showPassphrase(setupToken),
      });
    }
    this.show(this.restore, this.restore.heading);
  }

  /** A restore the box runs already (this page was reloaded): its progress, not the passphrase. */
  async resumeRestore(setupToken) {
    let view;
    try {
      view = await api.restoreStatus();
    } catch {
      return; // an older box, or no claim: the passphrase step stays
    }
    if (!view || (view.phase !== 'running' && view.phase !== 'indexing') || !this.isConnected) return;
    this.showRestore(setupToken);
    this.restore.showProgress(view);
  }
}

customElements.define('hp-setup', HpSetup);
