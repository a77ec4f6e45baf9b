// Entry point: registers the service worker and defines <hp-app>, which decides
// which screen to show from GET /api/v1/status:
//   no_vault                   -> <hp-setup>  (create the vault)
//   locked, or no session      -> <hp-unlock>
//   unlocked with a session    -> <hp-mail>   (after GET /session for the CSRF token)
//   network failure            -> <hp-offline>
// A status answer with a session also says which key lookups the box allows
// (`key_lookup`, kept in api.js); after unlocking here, status is asked once more
// for it. Once per session: no poll.

import { api, setSession, setStatus, clearSession, ApiError } from './api.js';
import { h, replace } from './dom.js';
import './components/auth-screens.js';
import './components/mail-view.js';

class HpApp extends HTMLElement {
  connectedCallback() {
    this.addEventListener('hp-session', () => this.enterMail());
    this.addEventListener('hp-restart', () => this.start());
    this.addEventListener('hp-locked', () => this.showUnlock('locked'));
    // Any API call that finds the session gone lands here.
    window.addEventListener('hp:auth-required', (event) => {
      if (!this.querySelector('hp-mail')) return;
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
    this.removeAttribute('aria-busy');
    if (status.state === 'no_vault') {
      this.show(h('hp-setup', status.setup_token_required ? { 'token-required': '' } : {}));
      return;
    }
    if (status.state === 'unlocked' && status.session) {
      try {
        setSession(await api.session());
        setStatus(status);
        this.showMail();
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
   * After unlocking (or creating the vault): the status read before had no session,
   * so it did not say which key lookups the box allows. Asked once, before the mail
   * screens, so that they offer only the lookups the box makes.
   */
  async enterMail() {
    try {
      setStatus(await api.status());
    } catch {
      setStatus(null); // not known: the screens offer lookups, and a refusal says why
    }
    this.showMail();
  }
}

customElements.define('hp-app', HpApp);

// The service worker keeps the app shell (never mail) so the app opens offline.
if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
      console.warn('Homepost: service worker not registered:', err.message);
    });
  });
}
