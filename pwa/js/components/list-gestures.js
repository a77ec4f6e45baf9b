// Touch gestures of <hp-message-list>: swiping a row (each direction does what
// the person chose, settings.js), a long press that selects a row, and pulling the
// list down at its top to reload it. Mouse input takes none of them: desktops have
// the row buttons, checkboxes and keys.
//
// `list` provides: rows (id -> {summary, li}), selecting(), swipeAction(side, tags)
// ({label, icon} or null), runSwipe(id, side), longPress(id), pullRefresh() (a
// promise).

import { h, icon } from '../dom.js';
import { ICONS } from '../icons.js';

/** Fraction of the row's width a swipe must travel to count. */
const SWIPE_FRACTION = 0.3;
const SWIPE_MIN_PX = 72;
/** How long a finger rests on a row before it is selected. */
const LONG_PRESS_MS = 450;
/** How far a finger may drift and still be a press (or not yet a swipe). */
const SLOP_PX = 10;
/** How far (after resistance) the list must be pulled down to reload it. */
const PULL_THRESHOLD_PX = 64;
const PULL_MAX_PX = 110;

export function setupGestures(list) {
  setupSwipe(list);
  setupLongPress(list);
  return setupPull(list);
}

function rowOf(target) {
  return target instanceof Element ? target.closest('li.msg-row') : null;
}

function setupSwipe(list) {
  let drag = null;
  // A swipe must not end in a click that opens the message; only the click that
  // may directly follow the swipe is swallowed.
  let suppressClickUntil = 0;

  const reset = (card) => {
    card.style.transform = '';
    const row = card.closest('.msg-row');
    row.classList.remove('swiping', 'swipe-left', 'swipe-right', 'armed');
    delete row.dataset.swipe;
  };

  /** Fills the strip under the card with what each direction will do to this row. */
  const prepare = (row) => {
    const { summary } = list.rows.get(Number(row.dataset.id)) || {};
    const tags = (summary && summary.tags) || [];
    const sides = { right: list.swipeAction('right', tags), left: list.swipeAction('left', tags) };
    const under = row.querySelector('.swipe-under');
    under.replaceChildren(
      h('span', { class: 'swipe-start', dataset: { action: sides.right ? sides.right.kind : 'none' } },
        sides.right ? [icon(ICONS[sides.right.icon]), sides.right.label] : null),
      h('span', { class: 'swipe-end', dataset: { action: sides.left ? sides.left.kind : 'none' } },
        sides.left ? [sides.left.label, icon(ICONS[sides.left.icon])] : null));
    return sides;
  };

  list.addEventListener('pointerdown', (event) => {
    if (event.pointerType === 'mouse' || !event.isPrimary || list.selecting()) return;
    const card = event.target instanceof Element ? event.target.closest('.msg-card') : null;
    if (!card || (event.target.closest('button'))) return;
    drag = { card, x: event.clientX, y: event.clientY, id: event.pointerId, state: 'pending', dx: 0 };
  });

  list.addEventListener('pointermove', (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (drag.state === 'pending') {
      if (Math.abs(dx) > SLOP_PX && Math.abs(dx) > Math.abs(dy) * 1.5) {
        drag.state = 'swiping';
        drag.card.setPointerCapture(event.pointerId);
        const row = drag.card.closest('.msg-row');
        row.classList.add('swiping');
        drag.sides = prepare(row);
      } else if (Math.abs(dy) > SLOP_PX) {
        drag = null; // a scroll, not a swipe
        return;
      } else {
        return;
      }
    }
    const row = drag.card.closest('.msg-row');
    // A direction without an action does not move.
    const side = dx < 0 ? 'left' : 'right';
    drag.dx = drag.sides[side] ? dx : 0;
    const threshold = Math.max(SWIPE_MIN_PX, row.clientWidth * SWIPE_FRACTION);
    drag.card.style.transform = `translateX(${drag.dx}px)`;
    row.classList.toggle('swipe-left', drag.dx < 0);
    row.classList.toggle('swipe-right', drag.dx > 0);
    row.dataset.swipe = drag.dx === 0 ? 'none' : drag.sides[side].kind;
    row.classList.toggle('armed', Math.abs(drag.dx) >= threshold);
  });

  const finish = (event, cancelled) => {
    if (!drag || event.pointerId !== drag.id) return;
    const { card, dx, state } = drag;
    drag = null;
    if (state !== 'swiping') return;
    suppressClickUntil = performance.now() + 150;
    const row = card.closest('.msg-row');
    const threshold = Math.max(SWIPE_MIN_PX, row.clientWidth * SWIPE_FRACTION);
    reset(card);
    if (cancelled || Math.abs(dx) < threshold) return;
    list.runSwipe(Number(row.dataset.id), dx < 0 ? 'left' : 'right');
  };
  list.addEventListener('pointerup', (event) => finish(event, false));
  list.addEventListener('pointercancel', (event) => finish(event, true));
  // The click that ends a swipe must not open the message.
  list.addEventListener('click', (event) => {
    if (performance.now() < suppressClickUntil) {
      event.preventDefault();
      event.stopPropagation();
      suppressClickUntil = 0;
    }
  }, true);
}

/** A finger resting on a row selects it (and starts selecting: list.longPress). */
function setupLongPress(list) {
  let press = null;
  let firedAt = -Infinity;
  const cancel = () => {
    if (press) clearTimeout(press.timer);
    press = null;
  };
  list.addEventListener('pointerdown', (event) => {
    cancel();
    if (event.pointerType === 'mouse' || !event.isPrimary) return;
    const row = rowOf(event.target);
    if (!row || !event.target.closest('.msg-card') || event.target.closest('button')) return;
    const id = Number(row.dataset.id);
    press = {
      x: event.clientX,
      y: event.clientY,
      pointer: event.pointerId,
      timer: setTimeout(() => {
        press = null;
        firedAt = performance.now();
        list.longPress(id);
      }, LONG_PRESS_MS),
    };
  });
  list.addEventListener('pointermove', (event) => {
    if (press && event.pointerId === press.pointer
      && Math.hypot(event.clientX - press.x, event.clientY - press.y) > SLOP_PX) cancel();
  });
  list.addEventListener('pointerup', cancel);
  list.addEventListener('pointercancel', cancel);
  // The browser's own long-press menu (a link's "open in new tab") and the click a
  // long press may still end in are not wanted after a row was selected.
  const swallow = (event) => {
    if (press || performance.now() - firedAt < 1000) {
      event.preventDefault();
      event.stopPropagation();
      if (event.type === 'click') firedAt = -Infinity;
    }
  };
  list.addEventListener('contextmenu', swallow);
  list.addEventListener('click', swallow, true);
}

/**
 * Pull to refresh: a finger that starts at the very top of the list pane and moves
 * down pulls out an indicator; let go past the threshold and the list reloads. The
 * listeners are passive and nothing is prevented: once the pane scrolls, or the
 * finger moves up or sideways first, the gesture is not a pull. Returns the
 * indicator element (for the list to place).
 */
function setupPull(list) {
  const label = h('span', { class: 'pull-label' }, 'Pull to refresh');
  const indicator = h('div', { class: 'pull-indicator', 'aria-hidden': 'true' },
    icon(ICONS.sync, 'icon pull-icon'), label);
  let pull = null;
  let busy = false;
  const pane = () => list.closest('.list-pane');

  const show = (distance, armed) => {
    indicator.classList.toggle('visible', distance > 0);
    indicator.classList.toggle('armed', armed);
    indicator.style.height = `${Math.round(distance)}px`;
    label.textContent = armed ? 'Release to refresh' : 'Pull to refresh';
  };
  const hide = () => {
    indicator.classList.remove('visible', 'armed', 'refreshing');
    indicator.style.height = '';
  };

  list.addEventListener('touchstart', (event) => {
    pull = null;
    const scroller = pane();
    if (busy || event.touches.length !== 1 || !scroller || scroller.scrollTop > 0 || list.selecting()) return;
    const t = event.touches[0];
    pull = { x: t.clientX, y: t.clientY, state: 'pending', distance: 0 };
  }, { passive: true });

  list.addEventListener('touchmove', (event) => {
    if (!pull || event.touches.length !== 1) return;
    const t = event.touches[0];
    const dx = t.clientX - pull.x;
    const dy = t.clientY - pull.y;
    if (pull.state === 'pending') {
      if (dy > SLOP_PX && dy > Math.abs(dx) * 1.5 && pane().scrollTop <= 0) pull.state = 'pulling';
      else if (Math.abs(dx) > SLOP_PX || dy < -SLOP_PX) { pull = null; return; } else return;
    }
    if (pane().scrollTop > 0) { pull = null; hide(); return; }
    pull.distance = Math.min(PULL_MAX_PX, Math.max(0, (dy - SLOP_PX) * 0.5));
    show(pull.distance, pull.distance >= PULL_THRESHOLD_PX);
  }, { passive: true });

  const end = async (cancelled) => {
    const done = pull;
    pull = null;
    if (!done || done.state !== 'pulling') return;
    if (cancelled || done.distance < PULL_THRESHOLD_PX) { hide(); return; }
    busy = true;
    indicator.classList.add('refreshing');
    indicator.classList.remove('armed');
    indicator.style.height = '';
    label.textContent = 'Refreshing…';
    try {
      await list.pullRefresh();
    } finally {
      busy = false;
      hide();
    }
  };
  list.addEventListener('touchend', () => end(false), { passive: true });
  list.addEventListener('touchcancel', () => end(true), { passive: true });
  return indicator;
}
