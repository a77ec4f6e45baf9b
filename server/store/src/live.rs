//! The process must not exit while a SQLCipher connection is still open.
//!
//! SQLCipher frees its private heap at exit (an `atexit` handler it registers
//! when SQLite initialises, and a `.fini_array` destructor), while other threads
//! go on. sqlx closes a dropped pool's connections
//! on their own threads; one that was still closing when the process exited read
//! the freed heap and crashed (`sqlcipher_free` under `sqlite3FreeCodecArg`). So
//! every connection carries a [`Live`] mark, and an exit handler, run before
//! SQLCipher's, waits (a bounded time) until the last one is gone.

use std::sync::{Condvar, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

/// How long an exiting process waits for connections to close. Closing one takes
/// milliseconds; a connection kept open to the end (a leaked store) is waited for
/// this long, then the exit goes on.
const EXIT_WAIT: Duration = Duration::from_secs(5);

static OPEN: Mutex<usize> = Mutex::new(0);
static CLOSED: Condvar = Condvar::new();

/// Counts one open connection from its creation until SQLite has closed it.
///
/// Given to SQLite as the state of a per-connection collation: SQLite drops it
/// after it closed the connection's files and freed its cipher state, so a zero
/// count means no connection will run SQLCipher code again.
#[derive(Debug)]
pub(crate) struct Live(());

impl Live {
    pub(crate) fn new() -> Live {
        *OPEN.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Live(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
        *open = open.saturating_sub(1);
        CLOSED.notify_all();
    }
}

/// Installs the exit handler, once per process. Exit handlers run in the reverse
/// order of their registration: this must be called after SQLite has
/// initialised (after the first connection opened), so that ours runs before
/// SQLCipher's.
pub(crate) fn wait_for_connections_at_exit() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: `atexit` only records the function pointer; the handler is a
        // plain `extern "C" fn` that touches nothing but the statics above. If
        // it cannot be registered (out of slots), the process runs as before.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::atexit(wait_at_exit) };
    });
}

/// Run by `exit()` before the program's destructors: waits until every
/// connection is closed, or [`EXIT_WAIT`] has passed.
extern "C" fn wait_at_exit() {
    let deadline = Instant::now() + EXIT_WAIT;
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    while *open > 0 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return;
        };
        open = CLOSED
            .wait_timeout(open, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}
