// Entry point: registers the service worker and defines <hp-app>, which decides
// which screen to show from GET /api/v1/status:
//   no_vault                   -> <hp-setup>  (claim the box, choose the passphrase)
//   locked, or no session      -> <hp-unlock>
//   unlocked with a session    -> <hp-wizard> while GET /setup says the first-run
//                                 setup is not done, else <hp-mail> (both after
//                                 GET /session for the CSRF token)
//   network failure            -> <hp-offline>
// A status answer with a session also says which key lookups the box allows
// (`key_lookup`, kept in api.js); after unlocking here, status is asked once more
// for it. Once per session: no poll.
//
// What loads at start is what the unlock screen and the mail list need: the modules
// this file imports statically, and theirs (tests/scripts/pwa-budget holds their
// size). The first-run screens (<hp-setup>, <hp-wizard>) are imported when shown;
// the mail's other screens when first opened (components/views.js). With a session,
// GET /session, GET /setup and the list's first page are asked for at once.

import { api, setSession, setStatus, clearSession, ApiError } from './api.js';
import { h, replace } from './dom.js';
import { forgetFirstPage, prefetchFirstPage } from './components/list-source.js';
import './components/auth-screens.js';
import './components/mail-view.js';

/** GET /setup: {setup} (null when it could not be read), or {lost: code} on a 401. */
async function readSetup() {
  try {
    return { setup: await api.setup() };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return { lost: err.code };
    return { setup: null };
  }
}

class HpApp extends HTMLElement {
  connectedCallback() {
    // A restored box's first session comes with what came back (`notice`), said in the mail.
    this.addEventListener('hp-session', (event) => this.enterMail(event.detail && event.detail.notice));
    this.addEventListener('hp-setup-done', () => this.showMail());
    this.addEventListener('hp-restart', () => this.start());
    this.addEventListener('hp-locked', () => this.showUnlock('locked'));
    // Any API call that finds the session gone lands here.
    window.addEventListener('hp:auth-required', (event) => {
      if (!this.querySelector('hp-mail, hp-wizard')) return;
      const locked = event.detail && event.detail.code === 'locked';
      this.showUnlock(locked ? 'locked' : 'unlocked',
        locked ? 'The box was locked.' : 'Your session has ended. Unlock again to continue.');
    });
    window.addEventListener('online', () => {
      if (this.querySelector('hp-offline')) this.start();
    });
    // The setup address (`/#setup=CODE`) opened over a setup screen already shown.
    window.addEventListener('hashchange', () => {
      if (this.querySelector('hp-setup') && window.location.hash.startsWith('#setup=')) this.start();
    });
    this.start();
  }

  show(screen) {
    // The list's first page, if asked for, is only for the mail shown next.
    if (screen.localName !== 'hp-mail') forgetFirstPage();
    // Replacing the whole screen drops every node that held mail.
    replace(this, screen);
  }

  async start() {
    this.setAttribute('aria-busy', 'true');
    let status;
    try {
      status = await api.status();
    } catch (err) {
      this.removeAttribute('aria-busy');
      this.show(h('hp-offline', { detail: err instanceof ApiError && err.status ? err.message : null }));
      return;
    }
    if (status.state === 'no_vault') {
      try {
        await import('./components/setup-screen.js');
      } catch {
        this.removeAttribute('aria-busy');
        this.show(h('hp-offline', { detail: null }));
        return;
      }
      this.removeAttribute('aria-busy');
      this.show(h('hp-setup', { 'token-required': status.setup_token_required, claimed: status.claimed === true }));
      return;
    }
    this.removeAttribute('aria-busy');
    if (status.state === 'unlocked' && status.session) {
      // Asked together: the setup state, and the list's first page for the mail.
      const setup = readSetup();
      prefetchFirstPage();
      try {
        setSession(await api.session());
        setStatus(status);
        await this.showMailOrWizard(setup);
        return;
      } catch {
        // The session expired between the two requests: unlock again.
      }
    }
    this.showUnlock(status.state);
  }

  showUnlock(state, notice = null) {
    clearSession();
    this.show(h('hp-unlock', { state, notice }));
  }

  showMail() {
    this.show(h('hp-mail'));
  }

  /**
   * The first-run wizard where it was left (GET /setup, `reading`: readSetup()
   * already under way), or the mail once it is done. A box older than the wizard
   * (404) or a failed read opens the mail: the wizard is help, never a gate in front
   * of the mail.
   */
  async showMailOrWizard(reading = readSetup()) {
    const { setup, lost } = await reading;
    if (lost) {
      this.showUnlock(lost === 'locked' ? 'locked' : 'unlocked');
      return;
    }
    if (setup && setup.step && setup.step !== 'done') {
      try {
        await import('./components/wizard.js');
      } catch {
        this.showMail(); // not loaded (the box went away): the mail says what it can
        return;
      }
      this.show(h('hp-wizard', {
        step: setup.step,
        account: Number.isInteger(setup.account) ? String(setup.account) : null,
      }));
      return;
    }
    this.showMail();
  }

  /**
   * After unlocking (or creating the vault): the status read before had no session,
   * so it did not say which key lookups the box allows. Asked once, before the mail
   * screens, so that they offer only the lookups the box makes. `notice` (a restored
   * box's "Restored N messages…") is announced once the mail is shown.
   */
  async enterMail(notice = null) {
    const setup = readSetup();
    prefetchFirstPage();
    try {
      setStatus(await api.status());
    } catch {
      setStatus(null); // not known: the screens offer lookups, and a refusal says why
    }
    await this.showMailOrWizard(setup);
    if (notice) window.dispatchEvent(new CustomEvent('hp:announce', { detail: { message: notice } }));
  }
}

customElements.define('hp-app', HpApp);

// The service worker keeps the app shell (never mail) so the app opens offline.
// Installing it fetches every file of the app, which on a first visit competed
// with drawing the list: a page it does not control yet registers it once the list
// has its first page (or 3 s after the load, on any other screen), when idle. With
// the worker in place, registering only checks for a new one, at once.
function registerWorker() {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
    console.warn('Homepost: service worker not registered:', err.message);
  });
}
if ('serviceWorker' in navigator) {
  if (navigator.serviceWorker.controller) {
    window.addEventListener('load', registerWorker);
  } else {
    let asked = false;
    const soon = () => {
      if (asked) return;
      asked = true;
      if ('requestIdleCallback' in window) window.requestIdleCallback(registerWorker, { timeout: 3000 });
      else setTimeout(registerWorker, 500);
    };
    document.addEventListener('hp-list-loaded', soon, { once: true });
    window.addEventListener('load', () => setTimeout(soon, 3000));
  }
}
