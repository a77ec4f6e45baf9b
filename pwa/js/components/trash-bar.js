// <hp-trash-bar>: under the list's heading in the Trash itself (in:trash, not a
// search within it): how long mail stays there (the retention GET /integrity
// tells, changed on the Storage health page) and "Empty trash", which asks first
// (delete-for-good.js). The list tells it its query and how many messages it shows.

import { h, icon, replace } from '../dom.js';
import { ICONS } from '../icons.js';
import { HEALTH_HASH, isTrashQuery } from '../router.js';
import { lastIntegrity } from '../integrity.js';
import { withModule } from './views.js';

/** How long mail stays in the trash, in words, or null while not known. */
export function retentionWords(days) {
  if (!Number.isFinite(days)) return null;
  if (days <= 0) return 'Mail stays in the trash until you empty it.';
  return `Mail is deleted for good ${days === 1 ? 'a day' : `${days} days`} after it went to the trash.`;
}

class HpTrashBar extends HTMLElement {
  connectedCallback() {
    this.build();
    this.onIntegrity = () => this.showHint();
    window.addEventListener('hp:integrity', this.onIntegrity);
    this.showHint();
  }

  disconnectedCallback() {
    window.removeEventListener('hp:integrity', this.onIntegrity);
  }

  build() {
    if (this.built) return;
    this.built = true;
    this.total = null;
    this.hidden = true;
    this.hint = h('p', { class: 'trash-hint', id: 'trash-hint' });
    this.button = h('button', {
      type: 'button', class: 'button trash-empty', hidden: true, onclick: () => this.empty(),
    }, icon(ICONS.deleteForever), 'Empty trash');
    replace(this, this.hint, this.button);
  }

  /** Shown for the Trash itself; `total` is how many messages it holds (null while loading). */
  update(query, total) {
    this.build();
    this.hidden = !isTrashQuery(query);
    this.total = total;
    this.button.hidden = this.hidden || !(total > 0);
    this.showHint();
  }

  showHint() {
    const view = lastIntegrity();
    const words = view ? retentionWords(view.trash_days) : null;
    if (!words) {
      this.hint.hidden = true;
      return;
    }
    replace(this.hint, `${words} `, h('a', {
      href: HEALTH_HASH, 'aria-label': 'Change how long mail stays in the trash',
    }, 'Change'));
    this.hint.hidden = false;
  }

  async empty() {
    if (!(this.total > 0)) return;
    if (await withModule(() => import('./delete-for-good.js'), ({ emptyTrash }) => emptyTrash(this.total))) {
      // The button goes with the messages: the focus goes to the list's heading.
      this.button.hidden = true;
      const heading = document.getElementById('list-title');
      if (heading) heading.focus();
    }
  }
}

customElements.define('hp-trash-bar', HpTrashBar);
