// Paired devices of the onion service (remote-onion.js): the list, pairing one
// (POST /remote/onion/clients) and showing its key once, unpairing one
// (DELETE /remote/onion/clients/{id}). A device's key lets it find the box while
// only paired devices may (restricted discovery); Tor Browser asks for it the first
// time it opens the address.

import { api } from '../api.js';
import { h, icon, syncList } from '../dom.js';
import { ICONS } from '../icons.js';
import { shortDate } from '../format.js';
import { copyButton } from '../clipboard.js';
import { announce } from '../mail-actions.js';
import { confirmSheet, openSheet } from './sheet.js';

/**
 * A QR code the server drew (SVG text) as an image: through a data: URL, so nothing
 * in it runs or styles the page (never as markup).
 */
export function qrImage(svg, alt) {
  return h('img', {
    class: 'qr', alt, width: '240', height: '240',
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(String(svg || ''))}`,
  });
}

/** A key as groups of four characters, without spaces between them (a copy stays whole). */
function keyGroups(key) {
  return (String(key).match(/.{1,4}/g) || []).map((g) => h('span', { class: 'key-group' }, g));
}

/** Shows a device's key, once: for Tor Browser, as a QR code, and the line for Orbot or C-tor. */
function showKey(paired) {
  const done = h('button', { type: 'button', class: 'button primary', onclick: () => dialog.close() },
    'Done: the key is on the device');
  const line = h('textarea', {
    id: 'pair-auth-line', class: 'remote-auth-line', readonly: true, rows: '3', spellcheck: 'false',
    'aria-describedby': 'pair-auth-hint',
  });
  line.value = paired.auth_private;
  const dialog = openSheet({
    title: `Key for ${paired.name}`,
    className: 'pair-sheet',
    closeOnBackdrop: false, // a stray tap must not lose it
    content: [
      h('p', { class: 'setup-code-lead' }, 'This key is shown only now: put it on the device before you close this. '
        + 'If it gets lost, unpair the device and pair it again.'),
      h('h3', { class: 'sheet-subhead' }, 'In Tor Browser'),
      h('p', {}, 'While \u201conly paired devices can find the box\u201d is on, Tor Browser asks for a key the first '
        + 'time it opens your box\u2019s address. Paste this key there and tick \u201cRemember this key\u201d.'),
      h('p', { class: 'remote-key', id: 'pair-key', 'aria-label': `Key: ${paired.key}` }, keyGroups(paired.key)),
      copyButton('Copy key', () => paired.key, 'Key', 'pair-key'),
      h('figure', { class: 'remote-qr' },
        qrImage(paired.qr_svg, `QR code of the key for ${paired.name}`),
        h('figcaption', {}, 'Or scan it with the device\u2019s camera and paste it from there.')),
      h('details', { class: 'remote-details' },
        h('summary', {}, 'For Orbot, or Tor on a computer'),
        h('p', {}, 'Orbot: add it as a client authorization key for the box\u2019s address. Tor (C-tor): save '
          + 'this line in a file whose name ends in .auth_private, in the folder that the ClientOnionAuthDir '
          + 'setting of its torrc names.'),
        h('label', { for: line.id, class: 'visually-hidden' }, 'The key as a line for Orbot or Tor'),
        line,
        h('p', { class: 'field-hint', id: 'pair-auth-hint' }, 'The box\u2019s address, then the key.'),
        copyButton('Copy line', () => paired.auth_private, 'Line', line.id)),
      h('div', { class: 'sheet-actions' }, done),
    ],
  });
  done.focus();
  return dialog;
}

export class DeviceList {
  /** `refresh()`: asks the page to poll now; `restricted()`: whether only paired devices may find the box. */
  constructor({ refresh, restricted }) {
    this.refresh = refresh;
    this.restricted = restricted;
    this.clients = [];
    this.list = h('ul', { class: 'device-list', 'aria-labelledby': 'devices-title' });
    this.empty = h('p', { class: 'muted device-empty' }, 'No device is paired yet.');
    this.name = h('input', {
      id: 'pair-name', type: 'text', autocomplete: 'off', maxlength: '64', autocapitalize: 'sentences',
      placeholder: 'for example Anna\u2019s phone', 'aria-describedby': 'pair-name-hint',
    });
    this.errorLine = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
    this.pairButton = h('button', { type: 'submit', class: 'button' }, icon(ICONS.plus), 'Pair a device');
    this.el = h('div', { class: 'devices' },
      h('h3', { class: 'remote-subtitle', id: 'devices-title' }, 'Paired devices'),
      this.empty,
      this.list,
      h('form', { class: 'remote-form pair-form', novalidate: true, onsubmit: (e) => this.pair(e) },
        this.errorLine,
        h('div', { class: 'field' },
          h('label', { for: this.name.id }, 'Name of the device to pair'),
          this.name,
          h('p', { class: 'field-hint', id: 'pair-name-hint' },
            'Just for you, to tell the devices apart. Pairing makes a key for this one device.')),
        h('div', { class: 'form-actions' }, this.pairButton)));
  }

  /** Shows the paired devices (the poll's answer): only what changed is redrawn. */
  update(clients) {
    this.clients = clients;
    this.empty.hidden = clients.length > 0;
    syncList(this.list, clients, (c) => c.id, (c) => this.row(c));
  }

  row(c) {
    const nameId = `device-${c.id}`;
    return h('li', { class: 'device' },
      icon(ICONS.phone),
      h('span', { class: 'device-text' },
        h('span', { class: 'device-name', id: nameId, tabindex: '-1' }, c.name),
        h('span', { class: 'device-date muted' }, `Paired ${shortDate(c.added_at)}`)),
      h('button', {
        type: 'button', class: 'button', dataset: { focusKey: 'unpair' }, 'aria-describedby': nameId,
        onclick: () => this.unpair(c),
      }, 'Unpair\u2026'));
  }

  async pair(event) {
    event.preventDefault();
    this.errorLine.hidden = true;
    this.name.removeAttribute('aria-invalid');
    const name = this.name.value.trim();
    if (!name) {
      this.errorLine.textContent = 'Give the device a name, like Anna\u2019s phone.';
      this.errorLine.hidden = false;
      this.name.setAttribute('aria-invalid', 'true');
      this.name.focus();
      return;
    }
    this.pairButton.disabled = true;
    try {
      const paired = await api.pairDevice(name);
      this.name.value = '';
      this.update([...this.clients.filter((c) => c.id !== paired.id),
        { id: paired.id, name: paired.name, added_at: paired.added_at }]);
      showKey(paired);
      announce(`Paired ${paired.name}.`);
    } catch (err) {
      if (err.status !== 401) {
        this.errorLine.textContent = `The device was not paired: ${err.message}`;
        this.errorLine.hidden = false;
        this.errorLine.focus();
      }
    } finally {
      this.pairButton.disabled = false;
      this.refresh();
    }
  }

  async unpair(c) {
    const ok = await confirmSheet({
      title: `Unpair ${c.name}?`,
      message: this.restricted()
        ? `${c.name} can no longer find the box through Tor. To use it again, pair it again: it gets a new key.`
        : `${c.name}\u2019s key stops working. Today anyone with the address can reach the box, so this changes `
          + 'something only once \u201conly paired devices\u201d is on.',
      confirmLabel: 'Unpair',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.unpairDevice(c.id);
    } catch (err) {
      if (err.status !== 404) {
        if (err.status !== 401) announce(`${c.name} was not unpaired: ${err.message}`, 'error');
        return;
      }
    }
    this.update(this.clients.filter((d) => d.id !== c.id));
    this.name.focus();
    announce(`Unpaired ${c.name}.`);
    this.refresh();
  }
}
