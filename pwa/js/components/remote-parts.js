// The relay (remote-relay.js) and the onion service (remote-onion.js) fed by a poll
// of GET /remote (poll.js: only while someone looks), for the Remote access page
// (remote-access.js) and the wizard's remote access step (wizard-finish.js). Each
// change a part makes asks for a poll at once.

import { api } from '../api.js';
import { poll, pollRound } from '../poll.js';
import { RelaySection } from './remote-relay.js';
import { OnionSection } from './remote-onion.js';

const POLL_MS = 3000;

export class RemoteParts {
  /**
   * `showError(message)`: a failed read in words, or null once a read worked.
   * The parts are `relay.el` and `onion.el`; polling starts at once.
   */
  constructor(showError) {
    this.showError = showError;
    const refresh = () => { if (this.poller) this.poller.now(); };
    this.relay = new RelaySection({ refresh });
    this.onion = new OnionSection({ refresh });
    this.poller = poll(() => this.load(), POLL_MS);
  }

  stop() {
    if (this.poller) this.poller.stop();
    this.poller = null;
    if (this.abort) this.abort.abort();
  }

  load() {
    return pollRound(this, (signal) => api.remote({ signal }), 'Remote access could not be read',
      (answer) => {
        this.relay.update(answer.pagekite || null);
        this.onion.update(answer.onion || null, answer.tor || null, 'onion' in answer);
      });
  }
}
