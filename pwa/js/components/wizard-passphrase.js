// The wizard's first numbered step: choosing the passphrase and creating the vault
// (POST /vault). What the passphrase is for is said in plain words before the fields;
// a strength meter fed by POST /passphrase/strength (asked 250 ms after the typing
// stops, the previous question cancelled) says how long guessing it would take and
// what would make it better. The server decides what is too weak (400
// weak_passphrase); the meter only explains. The same two fields and meter give a
// restored box its new passphrase (NewPassphrase, used by wizard-restore.js), and
// the step offers that other way in: "Restore from a backup".

import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import { sentence } from '../format.js';
import { errorLine, field, nextId, stepFrame } from './wizard-frame.js';

const MIN_PASSPHRASE = 10;
const DEBOUNCE_MS = 250;
const SCORE_WORDS = ['Very weak', 'Weak', 'Fair', 'Strong', 'Very strong'];

/** The meter under the passphrase field, with the server's verdict in words. */
class StrengthMeter {
  constructor() {
    const labelId = nextId('strength-label');
    this.meter = h('meter', {
      class: 'strength-meter', min: '0', max: '4', low: '2', high: '3', optimum: '4', value: '0',
      'aria-labelledby': labelId,
    });
    this.label = h('span', { id: labelId, class: 'strength-label' }, 'Strength');
    this.words = h('p', { class: 'strength-words', 'aria-live': 'polite' });
    this.advice = h('ul', { class: 'strength-advice' });
    this.el = h('div', { class: 'strength', hidden: true }, this.label, this.meter, this.words, this.advice);
    this.timer = null;
    this.abort = null;
    /** The last answer and the passphrase it was for. */
    this.last = null;
  }

  /** The field changed: ask again once the typing pauses. */
  changed(value) {
    clearTimeout(this.timer);
    if (this.abort) this.abort.abort();
    if (!value) {
      this.el.hidden = true;
      this.last = null;
      return;
    }
    this.timer = setTimeout(() => this.ask(value), DEBOUNCE_MS);
  }

  async ask(value) {
    this.abort = new AbortController();
    let answer;
    try {
      answer = await api.passphraseStrength(value, { signal: this.abort.signal });
    } catch (err) {
      // Aborted (more typing), or a box that cannot judge: the server still checks on create.
      if (!(err instanceof ApiError) || err.status !== 429) return;
      this.words.textContent = 'The strength is not checked for a moment (too many questions).';
      return;
    }
    if (!answer || typeof answer.score !== 'number') return;
    this.last = { value, answer };
    this.show(answer);
  }

  show(a) {
    const score = Math.max(0, Math.min(4, Math.round(a.score)));
    this.meter.value = score;
    this.meter.dataset.score = String(score);
    this.label.textContent = `Strength: ${SCORE_WORDS[score]}`;
    const time = a.crack_time ? `A computer trying guesses would need ${a.crack_time} to find it.` : '';
    const verdict = a.acceptable === false ? ' Too easy to guess: choose a longer one.' : '';
    this.words.textContent = `${SCORE_WORDS[score]}. ${time}${verdict}`.trim();
    const tips = [a.warning, ...(Array.isArray(a.suggestions) ? a.suggestions : [])].filter(Boolean).map(sentence);
    this.advice.replaceChildren(...tips.map((t) => h('li', {}, t)));
    this.advice.hidden = tips.length === 0;
    this.el.hidden = false;
  }

  stop() {
    clearTimeout(this.timer);
    if (this.abort) this.abort.abort();
  }
}

/**
 * A new passphrase typed twice, with the strength meter and "Show passphrase": the
 * passphrase step's fields, and the restore's with a recovery key (wizard-restore.js).
 * `nodes` go in the form; `onInput()` runs when the first field is typed in after it
 * was marked wrong (to clear the error line).
 */
export class NewPassphrase {
  constructor({ label = 'Passphrase', againLabel = 'Repeat the passphrase', onInput = () => {} } = {}) {
    this.meter = new StrengthMeter();
    const hintId = nextId('pass-hint');
    this.first = h('input', {
      id: nextId('pass'), type: 'password', name: 'new-passphrase', required: true, autocomplete: 'new-password',
      spellcheck: 'false', autocapitalize: 'off', minlength: String(MIN_PASSPHRASE), 'aria-describedby': hintId,
      oninput: () => {
        this.meter.changed(this.first.value);
        // A refusal was about the passphrase that was there before.
        if (this.first.getAttribute('aria-invalid') === 'true') {
          this.first.setAttribute('aria-invalid', 'false');
          onInput();
        }
      },
    });
    this.second = h('input', {
      id: nextId('pass-again'), type: 'password', name: 'new-passphrase-again', required: true,
      autocomplete: 'new-password', spellcheck: 'false', autocapitalize: 'off',
    });
    const reveal = h('input', {
      id: nextId('reveal'), type: 'checkbox',
      onchange: () => [this.first, this.second].forEach((i) => { i.type = reveal.checked ? 'text' : 'password'; }),
    });
    this.nodes = [
      h('div', { class: 'field' },
        h('label', { for: this.first.id }, label),
        this.first,
        h('p', { class: 'field-hint', id: hintId },
          `At least ${MIN_PASSPHRASE} characters. Four or five unrelated words are easy to type and hard to guess.`),
        this.meter.el),
      field(againLabel, this.second),
      h('div', { class: 'check' }, reveal, h('label', { for: reveal.id }, 'Show passphrase')),
    ];
  }

  /**
   * The passphrase, or null after marking the field that is wrong, saying why with
   * `show(message)` and focusing it.
   */
  value(show) {
    const pass = this.first.value;
    this.first.setAttribute('aria-invalid', 'false');
    this.second.setAttribute('aria-invalid', 'false');
    if (pass.length < MIN_PASSPHRASE) {
      this.invalid(this.first, `The passphrase needs at least ${MIN_PASSPHRASE} characters.`, show);
      return null;
    }
    if (pass !== this.second.value) {
      this.invalid(this.second, 'The two passphrases differ. Type the same one twice.', show);
      return null;
    }
    return pass;
  }

  /** The box found it too weak (400 weak_passphrase): `message` is its reason. */
  refused(message, show) {
    this.invalid(this.first, `${sentence(message)} Choose a longer or less common passphrase.`, show);
    this.first.select();
  }

  invalid(input, message, show) {
    input.setAttribute('aria-invalid', 'true');
    show(message);
    input.focus();
  }

  clear() {
    this.first.value = '';
    this.second.value = '';
    this.stop();
  }

  stop() {
    this.meter.stop();
  }
}

/**
 * The passphrase step. `setupToken`: the code from the setup address, sent along with
 * the vault (a typed code was spent on the claim, whose cookie stands in for it).
 * Callbacks: `onSession(session)` once the vault exists, `onClaimLost(code)` when the
 * box refuses this browser's claim (the error code: it restarted, or the code went
 * with the vault and was wrong), `onRestart()` when
 * someone else created the vault meanwhile, and `onRestore()` (optional: without it
 * nothing is offered) for "Restore from a backup" (wizard-restore.js).
 */
export class PassphraseStep {
  constructor({ setupToken = null, onSession, onClaimLost, onRestart, onRestore = null }) {
    this.setupToken = setupToken;
    this.callbacks = { onSession, onClaimLost, onRestart };
    this.error = errorLine();
    this.pass = new NewPassphrase({ onInput: () => this.error.clear() });
    this.submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Create vault');
    this.form = h('form', { class: 'auth-form', novalidate: true, onsubmit: (e) => this.onSubmit(e) },
      // A user name for password managers, so that they file the passphrase under "Homepost".
      h('input', { type: 'text', name: 'username', autocomplete: 'username', value: 'Homepost', hidden: true, tabindex: '-1' }),
      this.pass.nodes,
      this.error.el,
      this.submit);
    const frame = stepFrame('passphrase', 'Choose your passphrase',
      h('p', {}, 'Your passphrase is the only key to your mail. Homepost encrypts everything on this box with it '
        + 'and never stores it anywhere.'),
      onRestore ? h('p', { class: 'wizard-restore-offer' }, 'Replacing a box that made backups? ',
        h('button', { type: 'button', class: 'link-button', onclick: () => onRestore() }, 'Restore from a backup'),
        ' instead.') : null,
      h('div', { class: 'warning-note wizard-warning' },
        h('p', {}, h('strong', {}, 'Homepost cannot recover a forgotten passphrase. '),
          'Without it your mail stays locked for good, for you as for anyone else.'),
        h('p', {}, 'Write it down on paper and keep it somewhere safe, away from the box. '
          + '(Once the box makes backups, it also gives you a recovery key that opens them.)')),
      this.form);
    this.el = frame.el;
    this.heading = frame.heading;
  }

  stop() {
    this.pass.stop();
    clearInterval(this.countdown);
  }

  setBusy(busy, label = 'Create vault') {
    this.submit.disabled = busy;
    this.submit.textContent = label;
    this.form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  async onSubmit(event) {
    event.preventDefault();
    const pass = this.pass.value((m) => this.error.show(m));
    if (pass === null) return;
    this.error.clear();
    this.setBusy(true, 'Creating your vault\u2026');
    try {
      const session = await api.createVault(pass, this.setupToken);
      this.pass.clear();
      this.callbacks.onSession(session);
    } catch (err) {
      this.setBusy(false);
      this.failed(err);
    }
  }

  failed(err) {
    const code = err instanceof ApiError ? err.code : '';
    if (code === 'vault_exists') {
      this.callbacks.onRestart();
      return;
    }
    if (code === 'setup_token_required' || code === 'wrong_setup_token' || code === 'claimed') {
      this.callbacks.onClaimLost(code);
      return;
    }
    if (err instanceof ApiError && err.status === 429) {
      this.throttle(err.retryAfter);
      return;
    }
    if (code === 'weak_passphrase') {
      this.pass.refused(err.message, (m) => this.error.show(m));
      return;
    }
    this.error.show(sentence(err.message));
    this.pass.first.focus();
  }

  /** Keeps the form disabled while the server throttles, counting down. */
  throttle(seconds) {
    clearInterval(this.countdown);
    let left = seconds;
    this.error.show(`Too many attempts, try again in ${seconds} seconds.`);
    const tick = () => {
      if (left <= 0) {
        clearInterval(this.countdown);
        this.setBusy(false);
        this.error.clear();
        return;
      }
      this.setBusy(true, `Wait ${left} s`);
      left -= 1;
    };
    tick();
    this.countdown = setInterval(tick, 1000);
  }
}
