// The JSON API of docs/api.md: one fetch wrapper that adds the CSRF token, turns
// error answers into ApiError, and announces "you need to unlock" on 401.

const BASE = '/api/v1';

/** Codes of a 401 that mean "the session is gone" (not "wrong passphrase"). */
const SESSION_LOST = new Set(['unauthenticated', 'locked']);

/** The CSRF token of the current session; kept in memory only. */
let csrfToken = null;
/** Seconds without a request after which the server ends the session. */
let idleTimeout = 1800;
/**
 * Which sources key lookups may ask on this box (GET /status's `key_lookup`, given
 * only to a request with a session): "all", "wkd", "off", or null while not known.
 */
let keyLookup = null;

/** An error answer of the API, or a network failure (status 0, code "offline"). */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    /** Seconds to wait, from Retry-After (429 only). */
    this.retryAfter = retryAfter;
  }
}

/** Remembers the session of a `POST /vault`, `POST /session` or `GET /session` answer. */
export function setSession(session) {
  csrfToken = session && session.csrf_token ? session.csrf_token : null;
  if (session && Number.isFinite(session.idle_timeout)) idleTimeout = session.idle_timeout;
}

/** The session's idle timeout in seconds (the pollers stop well before it). */
export function sessionIdleTimeout() {
  return idleTimeout;
}

export function clearSession() {
  csrfToken = null;
  keyLookup = null;
}

/** Remembers what a `GET /status` answer with a session says about key lookups. */
export function setStatus(status) {
  keyLookup = status && status.session && typeof status.key_lookup === 'string' ? status.key_lookup : null;
}

/** Which sources key lookups may ask ("all", "wkd", "off"), or null when not known. */
export function keyLookupMode() {
  return keyLookup;
}

/**
 * Sends one request. `body` (if given) is sent as JSON. Resolves to the parsed JSON
 * answer, or null for 204. Rejects with ApiError.
 */
export async function request(method, path, body, { signal, retried = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
  if (body instanceof Blob) {
    // A file sent as it is (a .vcf import).
    headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
    headers['X-CSRF-Token'] = csrfToken;
  }

  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'offline', 'Cannot reach your Homepost box. Check your connection and try again.');
  }

  if (res.status === 204) return null;
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    try {
      data = await res.json();
    } catch (err) {
      // Aborted while the body was read (the view went away): not an empty answer.
      if (err && err.name === 'AbortError') throw err;
      data = null;
    }
  }
  if (res.ok) return data;

  // {"error": {"code", "message"}} (docs/api.md); a flat {"error": "code", "message"} is read too.
  const flat = data && typeof data.error === 'string';
  const code = flat ? data.error : (data && data.error && data.error.code) || `http_${res.status}`;
  let message = (flat ? data.message : data && data.error && data.error.message)
    || `The server answered ${res.status} ${res.statusText}`.trim();
  let retryAfter = null;
  if (res.status === 429) {
    const seconds = Number.parseInt(res.headers.get('Retry-After') || '', 10);
    retryAfter = Number.isFinite(seconds) && seconds >= 0 ? seconds : 60;
    message = `Too many attempts, try again in ${retryAfter} seconds.`;
  }
  // A lost CSRF token (say, another tab unlocked again): fetch it once and retry.
  if (res.status === 403 && code === 'csrf' && !retried) {
    try {
      setSession(await request('GET', '/session', undefined, { signal, retried: true }));
      return request(method, path, body, { signal, retried: true });
    } catch {
      // fall through to the original error
    }
  }
  const error = new ApiError(res.status, code, message, retryAfter);
  if (res.status === 401 && SESSION_LOST.has(code)) {
    clearSession();
    window.dispatchEvent(new CustomEvent('hp:auth-required', { detail: { code } }));
  }
  throw error;
}

const enc = encodeURIComponent;

// One small function per endpoint, named for what it does.
export const api = {
  status: () => request('GET', '/status'),
  /** Claims a new box for this browser with the setup code (a claim cookie, 204). */
  claim: (setupToken) => request('POST', '/claim', { setup_token: setupToken }),
  /** How hard a passphrase is to guess (no session needed; nothing is stored). */
  passphraseStrength: (passphrase, opts) => request('POST', '/passphrase/strength', { passphrase }, opts),
  createVault: (passphrase, setupToken = null) => request('POST', '/vault', setupToken
    ? { passphrase, setup_token: setupToken } : { passphrase }),
  /**
   * Starts making this new box again from its backup (docs/backup.md): `body` is
   * {source, passphrase} or {source, recovery_key, new_passphrase}; 202 with the
   * progress, which GET /restore then tells.
   */
  startRestore: (body, setupToken = null) => request('POST', '/restore', setupToken
    ? { ...body, setup_token: setupToken } : body),
  restoreStatus: (opts) => request('GET', '/restore', undefined, opts),
  unlock: (passphrase) => request('POST', '/session', { passphrase }),
  session: () => request('GET', '/session'),
  logout: () => request('DELETE', '/session'),
  lock: () => request('POST', '/lock'),

  search: ({ q = '', limit = 50, cursor = null, sort = null }, opts) => {
    const params = new URLSearchParams({ q, limit: String(limit) });
    if (cursor) params.set('cursor', cursor);
    if (sort) params.set('sort', sort);
    return request('GET', `/search?${params}`, undefined, opts);
  },
  message: (id, opts) => request('GET', `/messages/${enc(id)}`, undefined, opts),
  /** One page of a thread (the server pages long threads). */
  thread: (id, cursor = null, opts) => request('GET',
    `/threads/${enc(id)}?limit=500${cursor ? `&cursor=${enc(cursor)}` : ''}`, undefined, opts),
  changeTags: (ids, add = [], remove = []) => request('POST', '/messages/tags', { ids, add, remove }),
  /** Tags on every message of the threads; the answer says per tag what changed. */
  changeThreadTags: (threads, add = [], remove = []) => request('POST', '/messages/tags', { threads, add, remove }),
  /** Search results grouped by thread (docs/api.md, conversations). */
  conversations: ({ q = '', limit = 50, cursor = null }, opts) => {
    const params = new URLSearchParams({ q, limit: String(limit) });
    if (cursor) params.set('cursor', cursor);
    return request('GET', `/conversations?${params}`, undefined, opts);
  },

  tags: () => request('GET', '/tags'),
  createTag: (name) => request('POST', '/tags', { name }),
  renameTag: (name, newName) => request('PATCH', `/tags/${enc(name)}`, { name: newName }),
  deleteTag: (name) => request('DELETE', `/tags/${enc(name)}`),

  // The first-run wizard's progress (docs/setup.md): where to resume after a reload.
  setup: (opts) => request('GET', '/setup', undefined, opts),
  saveSetup: (step, account = null) => request('PUT', '/setup',
    account === null || account === undefined ? { step } : { step, account }),

  // Accounts, contacts, drafts and outbox: docs/api-mail-accounts.md.
  /** Finds an address's servers (autoconfig, SRV, MX, probing): candidates, hints, a log. */
  discoverAccount: (email, opts) => request('POST', '/accounts/discover', { email }, opts),
  /** Logs in to both servers with the settings given, without saving anything. */
  testAccount: (settings, opts) => request('POST', '/accounts/test', settings, opts),
  accounts: (opts) => request('GET', '/accounts', undefined, opts),
  createAccount: (account) => request('POST', '/accounts', account),
  updateAccount: (id, account) => request('PUT', `/accounts/${enc(id)}`, account),
  deleteAccount: (id) => request('DELETE', `/accounts/${enc(id)}`),
  syncAccount: (id) => request('POST', `/accounts/${enc(id)}/sync`),
  trustCertificate: (id, side, fingerprint) => request('POST', `/accounts/${enc(id)}/trust`, { side, fingerprint }),
  // Identities: each account's own address and its aliases, with signatures.
  identities: (opts) => request('GET', '/identities', undefined, opts),
  /** `fields`: {account_id, address, display_name, signature}. */
  createIdentity: (fields) => request('POST', '/identities', fields),
  updateIdentity: (id, fields) => request('PUT', `/identities/${enc(id)}`, fields),
  deleteIdentity: (id) => request('DELETE', `/identities/${enc(id)}`),
  defaultIdentity: (id) => request('POST', `/identities/${enc(id)}/default`),

  contacts: (q, limit, opts) => request('GET',
    `/contacts?${new URLSearchParams({ q, limit: String(limit) })}`, undefined, opts),
  // The address book (docs/api-mail-accounts.md).
  contactList: ({ q = '', sort = 'frequent', cursor = null, limit = 50 }, opts) => {
    const params = new URLSearchParams({ q, sort, limit: String(limit) });
    if (cursor) params.set('cursor', cursor);
    return request('GET', `/contacts/list?${params}`, undefined, opts);
  },
  contact: (id, opts) => request('GET', `/contacts/${enc(id)}`, undefined, opts),
  /** `fields`: {name, addresses, phones, notes}. */
  createContact: (fields) => request('POST', '/contacts', fields),
  updateContact: (id, fields) => request('PUT', `/contacts/${enc(id)}`, fields),
  deleteContact: (id) => request('DELETE', `/contacts/${enc(id)}`),
  /** Contact `from` joins contact `id` (and is gone). */
  mergeContacts: (id, from) => request('POST', `/contacts/${enc(id)}/merge`, { from }),
  /** A .vcf file (a File or Blob), sent as it is; the answer is the import's report. */
  importContacts: (file) => request('POST', '/contacts/import', file),

  drafts: () => request('GET', '/drafts'),
  draft: (id) => request('GET', `/drafts/${enc(id)}`),
  /** `fields`: Draft fields and/or `reply: {id, mode}` (the server prefills a reply). */
  createDraft: (fields) => request('POST', '/drafts', fields),
  saveDraft: (id, fields) => request('PUT', `/drafts/${enc(id)}`, fields),
  deleteDraft: (id) => request('DELETE', `/drafts/${enc(id)}`),
  /** Whether the draft (as saved) can and will be encrypted, and each recipient's key. */
  draftCrypto: (id, opts) => request('GET', `/drafts/${enc(id)}/crypto`, undefined, opts),
  attach: (id, file) => request('POST', `/drafts/${enc(id)}/attachments`, file),
  detach: (id, index) => request('DELETE', `/drafts/${enc(id)}/attachments/${enc(index)}`),
  send: (id) => request('POST', `/drafts/${enc(id)}/send`),

  // OpenPGP keys (docs/pgp.md): the user's own, correspondents', lookups, Setup Messages.
  keys: (opts) => request('GET', '/keys', undefined, opts),
  /**
   * Asks the network (the address's domain, then keys.openpgp.org): only when the person
   * asks. `opts.keyserver: false` leaves keys.openpgp.org out of this lookup.
   */
  lookupKey: (address, opts = {}) => request('POST', '/keys/lookup',
    opts.keyserver === false ? { address, keyserver: false } : { address }, opts),
  /**
   * Looks up the sender's key and checks the message's signature again;
   * `opts.keyserver: false` leaves keys.openpgp.org out.
   */
  lookupSenderKey: (id, opts = {}) => request('POST', `/messages/${enc(id)}/crypto/lookup`,
    opts.keyserver === false ? { keyserver: false } : undefined, opts),
  peer: (address, opts) => request('GET', `/peers/${enc(address)}`, undefined, opts),
  acceptPeerKey: (address, fingerprint) => request('POST', `/peers/${enc(address)}/accept`, { fingerprint }),
  /** Queues an Autocrypt Setup Message to the account itself; the answer's code is shown once. */
  sendSetupMessage: (accountId) => request('POST', '/keys/setup-message',
    accountId === null || accountId === undefined ? {} : { account_id: accountId }),
  importSetupMessage: (id, code) => request('POST', `/messages/${enc(id)}/setup-message`, { code }),

  // Importing uploaded mail (docs/api.md, Import): upload each file, then start.
  startImport: (uploads, options) => request('POST', '/imports', { uploads, ...options }),
  importJob: (id, opts) => request('GET', `/imports/${enc(id)}`, undefined, opts),
  importJobs: (opts) => request('GET', '/imports', undefined, opts),
  removeUpload: (id) => request('DELETE', `/imports/uploads/${enc(id)}`),

  // Remote access (docs/remote.md): the PageKite relay and the onion service.
  remote: (opts) => request('GET', '/remote', undefined, opts),
  /** `secret` empty or left out keeps the saved one. */
  setRelay: ({ frontend, kite, secret }) => request('PUT', '/remote/pagekite',
    secret ? { frontend, kite, secret } : { frontend, kite }),
  removeRelay: () => request('DELETE', '/remote/pagekite'),
  /** Turns the onion service on, or changes whether only paired devices can find it. */
  setOnion: (restricted) => request('PUT', '/remote/onion', { restricted }),
  removeOnion: () => request('DELETE', '/remote/onion'),
  /** Pairs a device: the answer holds its key, shown once. */
  pairDevice: (name) => request('POST', '/remote/onion/clients', { name }),
  unpairDevice: (id) => request('DELETE', `/remote/onion/clients/${enc(id)}`),

  // Backups (docs/backup.md): where they go and how they are doing, a run now, the recovery key shown once.
  backup: (opts) => request('GET', '/backup', undefined, opts),
  /** `settings`: {target, message_limit, every_hours, keep}; the answer is the view of GET /backup. */
  setBackup: (settings) => request('PUT', '/backup', settings),
  /** Starts a backup in the background (202 with the view); its progress shows in GET /backup. */
  runBackup: () => request('POST', '/backup/run'),
  /** The recovery key the first backup made, while it waits to be written down (404 after). */
  recoveryKey: (opts) => request('GET', '/backup/recovery-key', undefined, opts),
  recoveryKeyShown: () => request('POST', '/backup/recovery-key/shown'),

  // Storage health and the trash (docs/web.md): the last check and repair, one now, the trash's retention.
  /** {status: {last_check, clean, findings, messages, quarantined, error, last_repair, repaired, next_check, running}, trash_days}. */
  integrity: (opts) => request('GET', '/integrity', undefined, opts),
  /** Starts a check in the background (202 with the view); 409 `check_running` while one runs. */
  checkIntegrity: () => request('POST', '/integrity/check'),
  /** Starts a repair in the background; mail cannot be read until it ends. */
  repairIntegrity: () => request('POST', '/integrity/repair'),
  /** Days mail stays in the trash (0: until it is emptied); the answer is GET /integrity's view. */
  setTrashDays: (days) => request('PUT', '/trash', { days }),
  /** Deletes for good everything in the trash: {deleted}. */
  emptyTrash: () => request('POST', '/trash/empty'),
  /** Deletes one message in the trash or spam for good (409 `not_in_trash` otherwise). */
  deleteMessage: (id) => request('DELETE', `/messages/${enc(id)}`),

  // Saved searches and filter rules (docs/rules.md), each list in the user's order.
  /** {saved: [{id, name, query, total, unread, warnings}]}. */
  savedSearches: (opts) => request('GET', '/saved-searches', undefined, opts),
  /** 201 SavedSearch; 400 `bad_query`, `bad_name`; 409 `conflict` (name taken), `too_many`. */
  createSavedSearch: (name, query) => request('POST', '/saved-searches', { name, query }),
  /** `fields`: {name?, query?}. */
  updateSavedSearch: (id, fields) => request('PATCH', `/saved-searches/${enc(id)}`, fields),
  deleteSavedSearch: (id) => request('DELETE', `/saved-searches/${enc(id)}`),
  /** Every id once, in the new order. */
  orderSavedSearches: (ids) => request('PUT', '/saved-searches/order', { ids }),
  /** {rules: [Rule]}: {id, name, query, enabled, actions, warnings}, run top to bottom. */
  rules: (opts) => request('GET', '/rules', undefined, opts),
  /** `rule`: {name, query, actions, enabled}; 400 `bad_query`, `no_actions`, `invalid_tag`; 409 `too_many`. */
  createRule: (rule) => request('POST', '/rules', rule),
  updateRule: (id, fields) => request('PATCH', `/rules/${enc(id)}`, fields),
  deleteRule: (id) => request('DELETE', `/rules/${enc(id)}`),
  orderRules: (ids) => request('PUT', '/rules/order', { ids }),
  /** {count}: the stored messages the rule matches now. */
  ruleMatches: (id, opts) => request('GET', `/rules/${enc(id)}/matches`, undefined, opts),
  /** Starts applying the rule to stored mail (202 {count}); 409 `busy` while a run goes on. */
  runRule: (id) => request('POST', `/rules/${enc(id)}/run`),
  /** {running: {rule, name, done, total} | null, last: {rule, name, changed, finished, error} | null}. */
  ruleRun: (opts) => request('GET', '/rules/run', undefined, opts),
  /** {rules, skipped: [{line, text, reason}]}; without `dryRun` the rules are added. 400 `bad_sieve`. */
  importSieve: (script, dryRun) => request('POST', '/rules/sieve', { script, dry_run: dryRun }),
  /** {script, not_exported: [{rule, reason}]}. */
  exportSieve: (opts) => request('GET', '/rules/sieve', undefined, opts),

  outbox: (opts) => request('GET', '/outbox', undefined, opts),
  retry: (id) => request('POST', `/outbox/${enc(id)}/retry`),
  cancel: (id) => request('POST', `/outbox/${enc(id)}/cancel`),
};

/**
 * Uploads one file for import, streamed as the request body (never read into
 * memory here). XMLHttpRequest, not fetch, because only it reports upload
 * progress: `onProgress(sentBytes, totalBytes)`. Resolves to the upload's
 * {id, name, size}; rejects with ApiError (status 0 and code "aborted" when
 * `signal` aborts).
 */
export function uploadForImport(file, onProgress = () => {}, { signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${BASE}/imports/uploads?${new URLSearchParams({ name: file.name })}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.total || file.size);
    xhr.onerror = () => reject(new ApiError(0, 'offline',
      'The upload stopped: the box could not be reached. Check your connection and try again.'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'The upload was cancelled.'));
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      const code = data && data.error ? data.error.code : `http_${xhr.status}`;
      const message = data && data.error ? data.error.message : `The server answered ${xhr.status}`;
      if (xhr.status === 401) {
        clearSession();
        window.dispatchEvent(new CustomEvent('hp:auth-required', { detail: { code } }));
      }
      reject(new ApiError(xhr.status, code, message));
    };
    if (signal) signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

/** URLs the browser fetches itself (links, iframes): never built from mail text. */
export const urls = {
  raw: (id) => `${BASE}/messages/${enc(id)}/raw`,
  html: (id) => `${BASE}/messages/${enc(id)}/html`,
  attachment: (id, index) => `${BASE}/messages/${enc(id)}/attachments/${enc(index)}`,
  /** One of the user's own public keys, armored, as a download. */
  publicKey: (fingerprint) => `${BASE}/keys/${enc(fingerprint)}/public`,
};
