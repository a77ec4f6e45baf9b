// Hash routes, so the server never needs a fallback route:
//   #/search?q=in%3Ainbox    a search (the default route is the inbox)
//   #/message/12             one message
//   #/thread/10              one thread

export const DEFAULT_QUERY = 'in:inbox';

/** Parses location.hash into {name, q} or {name, id}. */
export function parseRoute(hash = window.location.hash) {
  const path = hash.replace(/^#/, '');
  const [pathname, query = ''] = path.split('?');
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] === 'message' && /^\d+$/.test(parts[1] || '')) {
    return { name: 'message', id: Number(parts[1]) };
  }
  if (parts[0] === 'thread' && /^\d+$/.test(parts[1] || '')) {
    return { name: 'thread', id: Number(parts[1]) };
  }
  if (parts[0] === 'search') {
    const params = new URLSearchParams(query);
    return { name: 'search', q: params.has('q') ? params.get('q') : DEFAULT_QUERY };
  }
  return { name: 'search', q: DEFAULT_QUERY };
}

export function searchHash(q) {
  return `#/search?${new URLSearchParams({ q })}`;
}

export function messageHash(id) {
  return `#/message/${Number(id)}`;
}

export function threadHash(id) {
  return `#/thread/${Number(id)}`;
}

export function navigate(hash) {
  if (window.location.hash !== hash) window.location.hash = hash;
}
