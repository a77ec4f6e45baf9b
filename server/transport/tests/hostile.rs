//! Hostile servers: malformed answers, endless and huge literals, slow drip, a
//! dropped connection. Each ends in a clear error, with bounded reads, never a
//! crash or a hang.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use homepost_store::{Endpoint, Security};
use homepost_transport::imap::Imap;
use homepost_transport::pop3::Pop3;
use homepost_transport::{Error, Timeouts};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the fake server does after reading a command.
enum Reply {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Send these bytes, then `x` forever.
    Endless(Vec<u8>),
    /// Send these bytes one at a time, slowly.
    Drip(Vec<u8>),
    /// Close the connection.
    Close,
}

/// A one-connection server: greets with `greeting`, then answers each command line
/// with `script(tag, command)`. Returns its port and the bytes it managed to write.
async fn fake(
    greeting: Reply,
    script: impl Fn(&str, &str) -> Reply + Send + 'static,
) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        let mut next = Some(greeting);
        loop {
            match next.take() {
                Some(Reply::Send(b)) => {
                    if w.write_all(&b).await.is_err() {
                        return;
                    }
                    counter.fetch_add(b.len() as u64, Ordering::SeqCst);
                }
                Some(Reply::Endless(b)) => {
                    if w.write_all(&b).await.is_err() {
                        return;
                    }
                    let chunk = vec![b'x'; 64 * 1024];
                    while w.write_all(&chunk).await.is_ok() {
                        counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                    }
                    return;
                }
                Some(Reply::Drip(b)) => {
                    for byte in b {
                        if w.write_all(&[byte]).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
                Some(Reply::Close) => return,
                None => {}
            }
            let Ok(Some(line)) = lines.next_line().await else {
                return;
            };
            let (tag, cmd) = line.split_once(' ').unwrap_or((&line, ""));
            next = Some(script(tag, cmd));
        }
    });
    (port, written)
}

fn endpoint(port: u16) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        username: "alice".into(),
        pinned_sha256: None,
    }
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        between_bytes: Duration::from_secs(2),
        command: Duration::from_secs(4),
    }
}

fn ok(tag: &str, text: &str) -> Reply {
    Reply::Send(format!("{tag} OK {text}\r\n").into_bytes())
}

/// An IMAP server that logs in and selects INBOX normally, and answers UID FETCH with `fetch`.
fn imap_script(
    fetch: impl Fn(&str) -> Reply + Send + 'static,
) -> impl Fn(&str, &str) -> Reply + Send + 'static {
    move |tag, cmd| {
        let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "LOGIN" => ok(tag, "logged in"),
            "CAPABILITY" => Reply::Send(format!("* CAPABILITY IMAP4rev1 IDLE UIDPLUS\r\n{tag} OK done\r\n").into_bytes()),
            "SELECT" => Reply::Send(
                format!("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 2] n\r\n{tag} OK [READ-WRITE] selected\r\n")
                    .into_bytes(),
            ),
            "UID" => fetch(tag),
            "LOGOUT" => Reply::Send(format!("* BYE\r\n{tag} OK bye\r\n").into_bytes()),
            _ => Reply::Send(format!("{tag} BAD what\r\n").into_bytes()),
        }
    }
}

fn greeting() -> Reply {
    Reply::Send(b"* OK [CAPABILITY IMAP4rev1] fake ready\r\n".to_vec())
}

async fn connect_and_fetch(port: u16) -> Result<(), Error> {
    let mut imap = Imap::connect(&endpoint(port), "secret", quick()).await?;
    let sel = imap.select("INBOX").await?;
    let pending = imap.pending(0, sel.exists).await?;
    imap.bodies(&pending).await?;
    Ok(())
}

#[tokio::test]
async fn a_greeting_that_is_not_imap_is_a_protocol_error() {
    let (port, _) = fake(
        Reply::Send(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
        |_, _| Reply::Close,
    )
    .await;
    let err = Imap::connect(&endpoint(port), "secret", quick())
        .await
        .err()
        .expect("must fail");
    assert!(
        matches!(err, Error::Protocol(_) | Error::Closed(_)),
        "{err:?}"
    );
    // The error never quotes the server's bytes (they could be mail).
    assert!(!err.to_string().contains("Bad Request"), "{err}");
}

#[tokio::test]
async fn malformed_fetch_answers_are_protocol_errors() {
    let (port, _) = fake(
        greeting(),
        imap_script(|tag| {
            Reply::Send(format!("* 1 FETCH (UID )))) \u{1}\u{2}\r\n{tag} OK done\r\n").into_bytes())
        }),
    )
    .await;
    let err = connect_and_fetch(port).await.expect_err("must fail");
    assert!(
        matches!(err, Error::Protocol(_) | Error::Closed(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_huge_literal_stops_at_the_budget() {
    // The server announces a 4 GB message and sends bytes for ever.
    let (port, written) = fake(
        greeting(),
        imap_script(|_| {
            Reply::Endless(b"* 1 FETCH (UID 1 RFC822.SIZE 10 BODY[] {4000000000}\r\n".to_vec())
        }),
    )
    .await;
    let err = connect_and_fetch(port).await.expect_err("must fail");
    assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    // The client stopped reading near its 1 MiB budget: what the server could
    // write beyond that is only what the socket buffers hold.
    let sent = written.load(Ordering::SeqCst);
    assert!(
        sent < 32 << 20,
        "the server wrote {sent} bytes before the client gave up"
    );
}

#[tokio::test]
async fn an_endless_answer_without_literal_stops_at_the_budget() {
    let (port, written) = fake(
        greeting(),
        imap_script(|_| Reply::Endless(b"* 1 FETCH (UID 1 FLAGS (\\Seen ".to_vec())),
    )
    .await;
    let err = connect_and_fetch(port).await.expect_err("must fail");
    assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    assert!(written.load(Ordering::SeqCst) < 32 << 20);
}

#[tokio::test]
async fn a_slow_drip_times_out() {
    // One byte every 300 ms: each byte is in time, the whole answer is not.
    let (port, _) = fake(
        Reply::Drip(
            b"* OK [CAPABILITY IMAP4rev1] a very slow server greets you at last\r\n".to_vec(),
        ),
        |_, _| Reply::Close,
    )
    .await;
    let started = std::time::Instant::now();
    let err = Imap::connect(&endpoint(port), "secret", quick())
        .await
        .err()
        .expect("must fail");
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "gave up only after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let (port, _) = fake(greeting(), imap_script(|_| Reply::Send(Vec::new()))).await;
    let err = connect_and_fetch(port).await.expect_err("must fail");
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn a_connection_dropped_mid_answer_is_reported() {
    let (port, _) = fake(
        greeting(),
        imap_script(|_| {
            Reply::Send(b"* 1 FETCH (UID 1 RFC822.SIZE 10 BODY[] {100}\r\nonly part".to_vec())
        }),
    )
    .await;
    // The script closes after that answer because the next read finds EOF.
    let err = connect_and_fetch(port).await.expect_err("must fail");
    assert!(
        matches!(err, Error::Closed(_) | Error::Timeout(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_login_is_an_auth_error() {
    let (port, _) = fake(greeting(), |tag, _| {
        Reply::Send(
            format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n").into_bytes(),
        )
    })
    .await;
    let err = Imap::connect(&endpoint(port), "wrong", quick())
        .await
        .err()
        .expect("must fail");
    assert!(matches!(err, Error::AuthFailed(_)), "{err:?}");
}

/// A POP3 server that logs in and answers one more command with `reply`.
fn pop_script(
    reply: impl Fn(&str) -> Reply + Send + 'static,
) -> impl Fn(&str, &str) -> Reply + Send + 'static {
    move |verb, rest| match verb.to_ascii_uppercase().as_str() {
        "USER" | "PASS" => Reply::Send(b"+OK\r\n".to_vec()),
        _ => reply(&format!("{verb} {rest}")),
    }
}

#[tokio::test]
async fn pop3_overlong_lines_and_huge_messages_are_refused() {
    let (port, _) = fake(
        Reply::Send(b"+OK ready\r\n".to_vec()),
        pop_script(|_| Reply::Endless(b"+OK ".to_vec())),
    )
    .await;
    let mut pop = Pop3::connect(&endpoint(port), "secret", quick())
        .await
        .unwrap();
    let err = pop.uidl().await.expect_err("must fail");
    assert!(
        matches!(err, Error::Protocol(_) | Error::TooLarge(_)),
        "{err:?}"
    );

    // RETR of a message said to be 10 bytes that never ends.
    let (port, written) = fake(
        Reply::Send(b"+OK ready\r\n".to_vec()),
        pop_script(|_| Reply::Endless(b"+OK message follows\r\nSubject: x\r\n\r\n".to_vec())),
    )
    .await;
    let mut pop = Pop3::connect(&endpoint(port), "secret", quick())
        .await
        .unwrap();
    let err = pop.retr(1, 10).await.expect_err("must fail");
    assert!(
        matches!(err, Error::TooLarge(_) | Error::Protocol(_)),
        "{err:?}"
    );
    assert!(written.load(Ordering::SeqCst) < 32 << 20);
}

#[tokio::test]
async fn pop3_garbage_status_is_a_protocol_error() {
    let (port, _) = fake(
        Reply::Send(b"220 smtp.example.org ESMTP\r\n".to_vec()),
        |_, _| Reply::Close,
    )
    .await;
    let err = Pop3::connect(&endpoint(port), "secret", quick())
        .await
        .err()
        .expect("must fail");
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
}

/// A server announcing CONDSTORE and QRESYNC that refuses both ENABLE and the
/// SELECT parameter is used the plain way, and a VANISHED range over every
/// possible UID is taken as ranges, never expanded.
#[tokio::test]
async fn a_server_refusing_its_announced_condstore_is_used_without_it() {
    let (port, _) = fake(greeting(), |tag, cmd| {
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("CAPABILITY") {
            Reply::Send(
                format!("* CAPABILITY IMAP4rev1 CONDSTORE QRESYNC\r\n{tag} OK done\r\n")
                    .into_bytes(),
            )
        } else if upper.starts_with("LOGIN") {
            ok(tag, "logged in")
        } else if upper.starts_with("SELECT") && !upper.contains("CONDSTORE") {
            Reply::Send(
                format!(
                    "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK [READ-WRITE] selected\r\n"
                )
                .into_bytes(),
            )
        } else {
            Reply::Send(format!("{tag} BAD not today\r\n").into_bytes())
        }
    })
    .await;
    let mut imap = Imap::connect(&endpoint(port), "secret", quick())
        .await
        .unwrap();
    assert!(imap.has_condstore());
    assert!(!imap.enable_qresync().await.unwrap());
    let sel = imap.select("INBOX").await.unwrap();
    assert_eq!((sel.uidvalidity, sel.highest_modseq), (7, None));
    assert!(!imap.has_condstore(), "used without CONDSTORE from then on");
}

#[tokio::test]
async fn a_vanished_answer_over_every_uid_stays_a_range() {
    let (port, _) = fake(greeting(), |tag, cmd| {
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("CAPABILITY") {
            Reply::Send(format!("* CAPABILITY IMAP4rev1 QRESYNC\r\n{tag} OK done\r\n").into_bytes())
        } else if upper.starts_with("ENABLE") {
            Reply::Send(format!("* ENABLED QRESYNC\r\n{tag} OK on\r\n").into_bytes())
        } else if upper.starts_with("SELECT") {
            Reply::Send(
                format!("* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [HIGHESTMODSEQ 90] m\r\n{tag} OK [READ-WRITE] selected\r\n")
                    .into_bytes(),
            )
        } else if upper.starts_with("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 12 VANISHED)") {
            Reply::Send(
                format!("* VANISHED (EARLIER) 1:4294967295\r\n* 1 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (80))\r\n{tag} OK done\r\n")
                    .into_bytes(),
            )
        } else if upper.starts_with("LOGIN") {
            ok(tag, "logged in")
        } else {
            Reply::Send(format!("{tag} BAD what\r\n").into_bytes())
        }
    })
    .await;
    let mut imap = Imap::connect(&endpoint(port), "secret", quick())
        .await
        .unwrap();
    assert!(imap.enable_qresync().await.unwrap());
    let sel = imap.select("INBOX").await.unwrap();
    assert_eq!(sel.highest_modseq, Some(90));
    let changes = imap.changes_since(12, sel.exists).await.unwrap();
    assert_eq!(changes.vanished, Some(vec![(1, u32::MAX)]));
    assert_eq!(changes.flags.get(&5), Some(&homepost_store::FLAG_READ));
}
