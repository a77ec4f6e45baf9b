// The onion part of the Remote access page (remote-access.js): turning the onion
// service on and off (PUT and DELETE /remote/onion), what it and Tor are doing (from
// the page's poll of GET /remote), its .onion address with the QR code the server
// drew, "only paired devices can find the box" (restricted discovery) and the paired
// devices (remote-pairing.js).

import { api } from '../api.js';
import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { copyButton } from '../clipboard.js';
import { announce } from '../mail-actions.js';
import { sentence } from '../format.js';
import { confirmSheet } from './sheet.js';
import { DeviceList, qrImage } from './remote-pairing.js';

/** The onion service's states in words: [badge, sentence, badge class]. */
const STATES = {
  starting: ['Starting', 'Starting: the box is joining the Tor network\u2026', 'state-connecting'],
  publishing: ['Publishing', 'Announcing the address on the Tor network; it works within a few minutes.', 'state-connecting'],
  running: ['Working', 'Working: Tor Browser on your phone can open the address below.', 'state-idle'],
  unreachable: ['Not reachable', 'The address cannot be reached right now. What went wrong is below.', 'state-error'],
  stopped: ['Stopped', 'The onion service is stopped.', ''],
};
/** Stopped because only paired devices may find it and none is. */
const HIDDEN = ['Hidden', 'No device can find the box: none is paired yet.', 'state-error'];

/** Tor itself, in words. */
function torWords(tor) {
  if (!tor) return '';
  if (tor.problem) return `Tor: ${sentence(tor.problem)}`;
  if (tor.state === 'ready') return 'Tor: connected to the Tor network.';
  const percent = Number.isFinite(tor.percent) ? ` (${Math.round(tor.percent)}%)` : '';
  return `Tor: connecting to the Tor network${percent}\u2026`;
}

export class OnionSection {
  /** `refresh()`: asks the page to poll GET /remote now. */
  constructor({ refresh }) {
    this.refresh = refresh;
    /** The OnionBody shown, null when off, undefined before the first answer. */
    this.body = undefined;
    this.busy = false;
    this.heading = h('h2', { class: 'section-title', id: 'onion-title', tabindex: '-1' }, 'Through Tor (onion service)');
    this.content = h('div', { class: 'remote-content' }, h('p', { class: 'muted' }, 'Loading\u2026'));
    this.devices = new DeviceList({ refresh, restricted: () => Boolean(this.body && this.body.restricted) });
    // What Tor is: shown while the onion service is off.
    this.intro = h('p', { class: 'remote-intro' },
      'Tor needs no account: your box gets an address ending in .onion that works from anywhere, but only in '
      + 'Tor Browser or with the Orbot app on your phone. Nobody learns where your box is or who visits it; '
      + 'pages load more slowly than through a relay.');
    this.el = h('section', { class: 'remote-section', 'aria-labelledby': 'onion-title' },
      h('div', { class: 'remote-head' }, icon(ICONS.lock), this.heading),
      this.intro,
      this.content);
  }

  /**
   * Shows `body` (an OnionBody, or null when off) and `tor` (a TorBody or null).
   * `available` false: this box's server has no onion service.
   */
  update(body, tor, available = true) {
    const had = this.body;
    this.body = body;
    this.tor = tor;
    if (!available) {
      if (this.shown !== 'unavailable') {
        this.shown = 'unavailable';
        replace(this.content, h('p', { class: 'remote-state' }, 'This box cannot offer an onion service yet.'));
      }
      return;
    }
    if (this.busy) return;
    const shape = body ? 'on' : 'off';
    if (this.shown !== shape || (body && had && had.address !== body.address)) {
      this.render();
      return;
    }
    this.showState();
  }

  render() {
    const b = this.body;
    this.shown = b ? 'on' : 'off';
    this.intro.hidden = Boolean(b);
    this.torLine = h('p', { class: 'remote-tor muted' });
    if (!b) {
      this.stateLine = null;
      replace(this.content,
        h('p', { class: 'remote-state', role: 'status', 'aria-live': 'polite' },
          h('span', { class: 'state-badge' }, 'Off'), ' The onion service is off.'),
        this.torLine,
        h('div', { class: 'card-actions' },
          h('button', {
            type: 'button', class: 'button primary', 'aria-describedby': 'onion-title', onclick: () => this.turnOn(),
          }, 'Turn on the onion service')));
      this.showState();
      return;
    }
    this.stateBadge = h('span', { class: 'state-badge' });
    this.stateText = h('span', {});
    this.stateLine = h('p', { class: 'remote-state', role: 'status', 'aria-live': 'polite' },
      this.stateBadge, ' ', this.stateText);
    this.message = h('p', { class: 'remote-message' });
    this.restricted = h('input', {
      type: 'checkbox', id: 'onion-restricted', role: 'switch', class: 'switch-input',
      'aria-describedby': 'onion-restricted-hint', onchange: () => this.setRestricted(this.restricted.checked),
    });
    this.warning = h('p', { class: 'warning-note remote-warning', id: 'onion-warning', role: 'alert' });
    const addressId = 'onion-address';
    replace(this.content,
      this.stateLine,
      this.message,
      this.torLine,
      h('dl', { class: 'remote-facts' },
        h('dt', {}, 'Address to open in Tor Browser'),
        h('dd', {}, h('span', { id: addressId, class: 'remote-url remote-mono' }, b.address),
          copyButton('Copy address', () => b.url, 'Address', addressId))),
      h('figure', { class: 'remote-qr' },
        qrImage(b.qr_svg, `QR code of the address ${b.address}`),
        h('figcaption', {}, 'On your phone, install Tor Browser (or Orbot), then scan this code or type the address.')),
      h('h3', { class: 'remote-subtitle', id: 'onion-who' }, 'Who can find the box'),
      h('label', { class: 'switch', for: this.restricted.id },
        this.restricted, h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
        h('span', { class: 'switch-label' }, 'Only paired devices can find the box')),
      h('p', { class: 'field-hint', id: 'onion-restricted-hint' },
        'Off: anyone who learns the address can reach the page where you unlock the box. On: Tor tells the '
        + 'address only to the devices you paired below, with a key of their own; to everyone else it does not exist. '
        + 'Pair your devices first, then turn this on.'),
      this.warning,
      this.devices.el,
      h('div', { class: 'card-actions remote-off' },
        h('button', {
          type: 'button', class: 'button', 'aria-describedby': 'onion-title', onclick: () => this.turnOff(),
        }, 'Turn off the onion service\u2026')));
    this.showState();
  }

  /** Updates the live parts in place: the state, Tor, the switch, the devices. */
  showState() {
    const b = this.body;
    const clients = (b && b.clients) || [];
    const lockedOut = Boolean(b && b.restricted && clients.length === 0);
    // While the service waits for Tor, its own message says how far Tor is.
    const tor = b && b.state === 'starting' ? '' : torWords(this.tor);
    if (this.torLine.textContent !== tor) this.torLine.textContent = tor;
    this.torLine.hidden = !tor;
    if (!b || !this.stateLine) return;
    const [badge, words, cls] = lockedOut && b.state === 'stopped' ? HIDDEN
      : STATES[b.state] || [b.state || 'Unknown', '', ''];
    if (this.stateBadge.textContent !== badge) {
      this.stateBadge.className = `state-badge ${cls}`.trim();
      this.stateBadge.textContent = badge;
    }
    if (this.stateText.textContent !== words) this.stateText.textContent = words;
    const message = sentence(b.message);
    if (this.message.textContent !== message) this.message.textContent = message;
    this.message.hidden = !message;
    if (!this.restricted.disabled) this.restricted.checked = Boolean(b.restricted);
    const warning = lockedOut ? 'No device is paired, so no device can reach the box through Tor now. '
      + 'Pair one below, or turn \u201conly paired devices\u201d off.' : '';
    if (this.warning.textContent !== warning) this.warning.textContent = warning;
    this.warning.hidden = !lockedOut;
    this.devices.update(clients);
  }

  async turnOn() {
    await this.change(() => api.setOnion(false), 'The onion service is starting. Its address works once Tor is connected.');
  }

  async turnOff() {
    const ok = await confirmSheet({
      title: 'Turn off the onion service?',
      message: 'Devices can no longer reach the box through Tor. The box keeps its .onion address: turning '
        + 'the service on again brings back the same address.',
      confirmLabel: 'Turn off',
      danger: true,
    });
    if (!ok) return;
    await this.change(async () => {
      try {
        await api.removeOnion();
      } catch (err) {
        if (err.status !== 404) throw err; // 404: off already (another tab)
      }
      return null;
    }, 'The onion service is off.');
  }

  /** Turns restricted discovery on or off; on with no paired device asks first. */
  async setRestricted(on) {
    const clients = (this.body && this.body.clients) || [];
    if (on && clients.length === 0) {
      this.busy = true; // the poll leaves the switch as the person set it while they decide
      const ok = await confirmSheet({
        title: 'No device is paired yet',
        message: 'With \u201conly paired devices\u201d on and no device paired, no device can reach the box '
          + 'through Tor, this one included if it uses Tor now, until you pair one here.',
        confirmLabel: 'Turn it on anyway',
        danger: true,
      });
      this.busy = false;
      if (!ok) {
        this.restricted.checked = false;
        this.restricted.focus();
        return;
      }
    }
    await this.change(() => api.setOnion(on), on
      ? 'Only paired devices can find the box now.' : 'Anyone with the address can find the box now.',
    this.restricted);
  }

  /**
   * Runs a change (`run()` resolves to the new OnionBody or null), shows its answer
   * and says `done`; the focus goes to `focusAfter` or the section's heading.
   */
  async change(run, done, focusAfter = null) {
    this.busy = true;
    if (this.restricted) this.restricted.disabled = true;
    let answer;
    try {
      answer = await run();
    } catch (err) {
      this.busy = false;
      if (this.restricted) this.restricted.disabled = false;
      if (err.status !== 401) announce(`That did not work: ${err.message}`, 'error');
      this.render();
      this.refresh();
      return;
    }
    this.busy = false;
    if (this.restricted) this.restricted.disabled = false;
    this.body = answer;
    this.render();
    const target = focusAfter && focusAfter.id ? this.content.querySelector(`#${focusAfter.id}`) : null;
    (target || this.heading).focus();
    announce(done);
    this.refresh();
  }
}
