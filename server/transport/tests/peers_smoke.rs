//! The loopback peers of `homepost_testing::peers` start, take mail, greet, and survive a
//! SIGKILL of their process group followed by a restart on the same directory.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use homepost_testing::peers::{Dovecot, SmtpServer};

/// The first line a plain TCP server sends.
fn greeting(port: u16) -> String {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("read the greeting");
    line
}

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: bob@localhost\r\nTo: alice@localhost\r\nSubject: smoke {n}\r\n\
         Message-ID: <smoke{n}@localhost>\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

/// Messages in a maildir, seen or not yet seen by Dovecot.
fn maildir_count(dovecot: &Dovecot, user: &str) -> usize {
    ["new", "cur"]
        .iter()
        .map(|sub| {
            std::fs::read_dir(dovecot.maildir(user).join(sub))
                .unwrap()
                .count()
        })
        .sum()
}

#[test]
fn peers_start_greet_and_survive_kill_and_restart() {
    let mut dovecot = Dovecot::start();
    let mut smtp = SmtpServer::start(false);

    dovecot.deliver("alice", &message(1));
    dovecot.deliver_many("alice", &[message(2), message(3)]);
    assert_eq!(maildir_count(&dovecot, "alice"), 3);

    assert!(
        greeting(dovecot.imap).starts_with("* OK"),
        "{}",
        dovecot.log_tail()
    );
    assert!(
        greeting(dovecot.pop3).starts_with("+OK"),
        "{}",
        dovecot.log_tail()
    );
    assert!(greeting(smtp.port).starts_with("220"));
    let fingerprint = dovecot.cert_sha256();
    assert_eq!(fingerprint.len(), 32 * 3 - 1, "{fingerprint}");

    dovecot.kill();
    smtp.kill();
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, dovecot.imap)).is_err());
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, smtp.port)).is_err());

    dovecot.restart();
    smtp.restart();
    assert!(
        greeting(dovecot.imap).starts_with("* OK"),
        "{}",
        dovecot.log_tail()
    );
    assert!(greeting(smtp.port).starts_with("220"));
    assert_eq!(maildir_count(&dovecot, "alice"), 3);
    assert_eq!(dovecot.cert_sha256(), fingerprint);
    assert!(smtp.accepted().is_empty());
}
