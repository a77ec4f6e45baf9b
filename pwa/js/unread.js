// The inbox's unread count where a phone shows it without opening the app: in the
// page title ("(3) Homepost", the tab and the task switcher) and, for the installed
// app, as its icon badge (Badging API, where the browser has it). No push service is
// involved: the count changes while the app is open (docs/web.md says what an onion
// address allows). Cleared when the mail view goes (lock, logout): a locked box
// shows nothing about its mail.

const TITLE = 'Homepost';

/** Shows `n` unread messages in the inbox (0 clears). */
export function showUnread(n) {
  const count = Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
  document.title = count > 0 ? `(${count}) ${TITLE}` : TITLE;
  if ('setAppBadge' in navigator) {
    const done = count > 0 ? navigator.setAppBadge(count) : navigator.clearAppBadge();
    // Refused where the app is not installed: the title still shows it.
    done.catch(() => {});
  }
}

/** Shows nothing: the title without a count, no badge. */
export function clearUnread() {
  showUnread(0);
}
