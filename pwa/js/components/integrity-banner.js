// <hp-integrity-banner>: over the message list while the box's last check found
// damaged data (integrity.js): a line that says so and leads to Settings → Storage
// health, and a Dismiss button. Dismissed, it stays away until a later check finds
// damage again (or the app is opened anew: the damage is still there).

import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { HEALTH_HASH } from '../router.js';
import { lastIntegrity, needsAttention } from '../integrity.js';

/** The `last_check` of the check whose banner was dismissed (for this page's life). */
let dismissedCheck = null;

class HpIntegrityBanner extends HTMLElement {
  connectedCallback() {
    if (!this.built) {
      this.built = true;
      // A polite live region, always there and empty until the answer comes: the
      // warning is then said once, not over other news.
      this.setAttribute('role', 'status');
      this.card = null;
    }
    this.onIntegrity = () => this.show();
    window.addEventListener('hp:integrity', this.onIntegrity);
    this.show();
  }

  disconnectedCallback() {
    window.removeEventListener('hp:integrity', this.onIntegrity);
  }

  show() {
    const view = lastIntegrity();
    const on = needsAttention(view) && view.status.last_check !== dismissedCheck;
    if (on === Boolean(this.card)) return;
    if (!on) {
      this.card = null;
      this.replaceChildren();
      return;
    }
    this.card = h('div', { class: 'integrity-banner' },
      icon(ICONS.warning, 'icon integrity-banner-icon'),
      h('p', { class: 'integrity-banner-text' }, 'The box found damaged data: ',
        h('a', { href: HEALTH_HASH }, 'Settings \u2192 Storage health')),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': 'Dismiss the damaged data warning', title: 'Dismiss',
        onclick: () => this.dismiss(),
      }, icon(ICONS.close)));
    replace(this, this.card);
  }

  dismiss() {
    const view = lastIntegrity();
    dismissedCheck = view ? view.status.last_check : null;
    this.show();
    // The button is gone: the focus goes to the list's heading, the next thing.
    const heading = document.getElementById('list-title');
    if (heading) heading.focus();
  }
}

customElements.define('hp-integrity-banner', HpIntegrityBanner);
