// <hp-remote>: the Remote access page (#/remote), reached from the drawer and from
// Settings. The two ways to reach the box from outside the home network, each with
// what it does now: a PageKite relay (remote-relay.js) and an onion service with its
// paired devices (remote-onion.js, remote-pairing.js). GET /remote is polled while
// the page is open (poll.js: only while someone looks), so state changes show up and
// are read out (polite live regions).

import { h, replace, titleRow } from '../dom.js';
import { RemoteParts } from './remote-parts.js';

class HpRemote extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.heading = h('h1', { class: 'page-title', tabindex: '-1' }, 'Remote access');
    this.errorLine = h('p', { class: 'form-error', role: 'alert', hidden: true });
    this.parts = new RemoteParts((message) => {
      if (message && this.errorLine.textContent !== message) this.errorLine.textContent = message;
      this.errorLine.hidden = !message;
    });
    replace(this, h('div', { class: 'page-body remote-page' },
      titleRow(this.heading, () => this.dispatchEvent(new CustomEvent('hp-back', { bubbles: true }))),
      h('p', { class: 'page-intro flush' },
        'To read your mail on your phone away from home, let your box be reached from the internet, in one '
        + 'of two ways or both. The box still asks for your passphrase.'),
      h('details', { class: 'remote-details remote-choose' },
        h('summary', {}, 'Which way should I choose?'),
        h('ul', {},
          h('li', {}, h('strong', {}, 'A relay'), ' works in any browser and is quick, but you need an account '
            + 'with a PageKite relay, and the relay learns when you use your box and from where.'),
          h('li', {}, h('strong', {}, 'Tor'), ' needs nothing but the Tor Browser (or Orbot) app on your phone and '
            + 'hides where you and your box are, but pages load more slowly.'))),
      this.errorLine,
      this.parts.relay.el,
      this.parts.onion.el));
  }

  disconnectedCallback() {
    this.parts.stop();
  }
}

customElements.define('hp-remote', HpRemote);
