// The names of the tags that exist, as last loaded by the drawer; used to suggest
// tags while typing. Views that show suggestions listen for `hp:known-tags`.

let names = [];

export function setKnownTags(list) {
  names = [...list].sort();
  window.dispatchEvent(new CustomEvent('hp:known-tags'));
}

export function knownTags() {
  return names;
}
