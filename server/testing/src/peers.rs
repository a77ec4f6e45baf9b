//! Real mail servers on loopback, for the transport's tests and any other that
//! fetches or sends mail: Dovecot (IMAP, POP3) started by `tests/peers/dovecot-up`,
//! and the aiosmtpd submission server `tests/peers/smtp-server`. See
//! `tests/peers/README.md` for users and behaviours.
//!
//! Each server runs in its own process group in its own temporary directory, on
//! free ports of 127.0.0.1; `kill` sends SIGKILL to the whole group, `restart`
//! starts it again on the same directory and ports (mail, spool and certificate
//! survive), and dropping the value kills it.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Tries to start a server on fresh ports: a free port can be taken by another
/// process between the moment it is picked and the moment the server binds it.
const START_ATTEMPTS: usize = 3;

/// The user names of both servers' test accounts.
pub const USERS: [&str; 2] = ["alice", "bob"];
/// The password of every test account.
pub const PASSWORD: &str = "secret";

/// `tests/peers` of the checkout the test runs from.
pub fn peers_dir() -> PathBuf {
    let dir = crate::corpus::checkout().join("tests/peers");
    assert!(
        dir.join("dovecot-up").is_file(),
        "peer scripts missing: expected them in {}",
        dir.display()
    );
    dir
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .unwrap()
        .port()
}

/// `N` different ports of 127.0.0.1 that were free a moment ago: all held at
/// once while they are picked, so no two are the same (picked one after another,
/// the system may hand out a just-released port again, which Dovecot refused as
/// a "duplicate listener").
fn free_ports<const N: usize>() -> [u16; N] {
    let held: [TcpListener; N] = std::array::from_fn(|_| {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0")
    });
    held.map(|l| l.local_addr().unwrap().port())
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// A temporary directory that an unprivileged server (nobody, when the tests run
/// as root) can traverse.
fn temp_dir(prefix: &str) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create a temporary directory");
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
        .expect("chmod the temporary directory");
    tmp
}

/// The last lines of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(30);
    format!(
        "--- {} (last lines) ---\n{}",
        path.display(),
        lines[start..].join("\n")
    )
}

/// SIGKILL to the process group led by `child`, then reap it.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits (a few seconds at most) until the killed server's ports can be bound again.
fn wait_ports_free(ports: &[u16]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ports.iter().all(|&p| port_is_free(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SHA-256 of the DER of the first certificate in a PEM file, as uppercase hex
/// pairs joined by ':' (the form `openssl x509 -fingerprint -sha256` prints),
/// computed here rather than by the code under test.
pub fn cert_sha256(pem_path: &Path) -> String {
    let der = cert_der(pem_path).unwrap_or_else(|e| panic!("{}: {e}", pem_path.display()));
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The DER of the first certificate in a PEM file.
fn cert_der(pem_path: &Path) -> std::io::Result<Vec<u8>> {
    let pem = fs::read_to_string(pem_path)?;
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect();
    match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
        Ok(der) if !der.is_empty() => Ok(der),
        _ => Err(std::io::Error::other("no PEM certificate")),
    }
}

/// Connects over TLS, trusting only the certificate in `pem_path` for "localhost",
/// and returns the server's first line.
fn tls_greeting(port: u16, pem_path: &Path) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(cert_der(pem_path)?))
        .map_err(std::io::Error::other)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(rustls::StreamOwned::new(conn, tcp)).read_line(&mut line)?;
    Ok(line)
}

/// Dovecot 2.3 serving IMAP and POP3 (plain with STARTTLS, and implicit TLS) for
/// alice and bob (password "secret"), maildir homes under `dir/home/USER`.
pub struct Dovecot {
    /// The directory given to `dovecot-up`: config, cert.pem, key.pem, dovecot.log, home/.
    pub dir: PathBuf,
    /// IMAP with STARTTLS.
    pub imap: u16,
    /// IMAP over implicit TLS.
    pub imaps: u16,
    /// POP3 with STLS.
    pub pop3: u16,
    /// POP3 over implicit TLS.
    pub pop3s: u16,
    child: Option<Child>,
    deliveries: AtomicUsize,
    tmp: tempfile::TempDir,
    /// `DOVECOT_QUOTA` and `DOVECOT_MAX_MAIL_SIZE` for `dovecot-up`.
    limits: Vec<(&'static str, String)>,
}

impl Dovecot {
    /// Starts Dovecot on free ports (other ones if a port was taken meanwhile).
    pub fn start() -> Dovecot {
        Dovecot::start_limited(None, None)
    }

    /// Starts Dovecot with a storage `quota` per user (like "2M") and a largest
    /// message (`max_mail`, like "300k"), as a mail provider has.
    pub fn start_limited(quota: Option<&str>, max_mail: Option<&str>) -> Dovecot {
        let tmp = temp_dir("homepost-dovecot-");
        let mut dovecot = Dovecot {
            dir: tmp.path().join("dovecot"),
            imap: 0,
            imaps: 0,
            pop3: 0,
            pop3s: 0,
            child: None,
            deliveries: AtomicUsize::new(0),
            tmp,
            limits: Vec::new(),
        };
        dovecot.set_limits(quota, max_mail);
        for attempt in 1..=START_ATTEMPTS {
            [dovecot.imap, dovecot.imaps, dovecot.pop3, dovecot.pop3s] = free_ports::<4>();
            match dovecot.try_spawn() {
                Ok(()) => return dovecot,
                Err(e) if attempt < START_ATTEMPTS && e.contains("ddress already in use") => {
                    eprintln!("Dovecot: a port was taken, trying others");
                }
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!("the last attempt panics")
    }

    /// Changes the limits for the next (re)start.
    pub fn set_limits(&mut self, quota: Option<&str>, max_mail: Option<&str>) {
        self.limits.clear();
        if let Some(q) = quota {
            self.limits.push(("DOVECOT_QUOTA", q.to_owned()));
        }
        if let Some(m) = max_mail {
            self.limits.push(("DOVECOT_MAX_MAIL_SIZE", m.to_owned()));
        }
    }

    fn ports(&self) -> [u16; 4] {
        [self.imap, self.imaps, self.pop3, self.pop3s]
    }

    fn spawn(&mut self) {
        if let Err(e) = self.try_spawn() {
            panic!("{e}");
        }
    }

    /// Starts Dovecot and waits for its IMAPS greeting; on failure it is killed and
    /// the error holds the ends of its logs.
    fn try_spawn(&mut self) -> Result<(), String> {
        let out_path = self.tmp.path().join("dovecot-up.out");
        let out = fs::File::create(&out_path).expect("create dovecot-up.out");
        let child = Command::new(peers_dir().join("dovecot-up"))
            .arg(&self.dir)
            .args(self.ports().map(|p| p.to_string()))
            .envs(self.limits.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("spawn tests/peers/dovecot-up");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        // The port accepts before Dovecot's auth is ready: wait for a TLS greeting.
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Err(self.fail(&format!("dovecot-up exited with {status}"), &out_path));
            }
            let last_error = match tls_greeting(self.imaps, &self.dir.join("cert.pem")) {
                Ok(line) if line.starts_with("* OK") => return Ok(()),
                Ok(line) => format!("greeting {line:?}"),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                return Err(self.fail(
                    &format!("no IMAPS greeting within {START_TIMEOUT:?}: {last_error}"),
                    &out_path,
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills what was started and describes the failure with the ends of the logs.
    fn fail(&mut self, what: &str, out_path: &Path) -> String {
        self.kill();
        format!(
            "Dovecot in {}: {what}\n{}\n{}",
            self.dir.display(),
            tail(out_path),
            tail(&self.dir.join("dovecot.log"))
        )
    }

    /// SIGKILL to Dovecot and all its processes; returns once its ports are free.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
            wait_ports_free(&self.ports());
        }
    }

    /// Kills Dovecot (if running) and starts it again on the same directory and ports.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `user`'s maildir (`cur`, `new`, `tmp`).
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.dir.join("home").join(user).join("Maildir")
    }

    /// Puts one raw message into `user`'s INBOX.
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        let mut child = Command::new(peers_dir().join("deliver"))
            .arg(&self.dir)
            .arg(user)
            .arg("-")
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn tests/peers/deliver");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(raw)
            .expect("write the message to deliver");
        let status = child.wait().unwrap();
        assert!(status.success(), "tests/peers/deliver {user} -: {status}");
    }

    /// Puts the messages into `user`'s INBOX, in order (UIDs rise in this order).
    pub fn deliver_many(&self, user: &str, messages: &[Vec<u8>]) {
        let n = self.deliveries.fetch_add(1, Ordering::Relaxed);
        let staging = self.tmp.path().join(format!("deliver-{n}"));
        fs::create_dir(&staging).unwrap();
        for (c, chunk) in messages.chunks(1000).enumerate() {
            let mut files = Vec::with_capacity(chunk.len());
            for (i, raw) in chunk.iter().enumerate() {
                let file = staging.join(format!("{:06}.eml", c * 1000 + i));
                fs::write(&file, raw).unwrap();
                files.push(file);
            }
            let status = Command::new(peers_dir().join("deliver"))
                .arg(&self.dir)
                .arg(user)
                .args(&files)
                .status()
                .expect("spawn tests/peers/deliver");
            assert!(
                status.success(),
                "tests/peers/deliver {user} ({} files): {status}",
                files.len()
            );
        }
        let _ = fs::remove_dir_all(&staging);
    }

    /// Fingerprint of the certificate Dovecot serves (uppercase hex pairs joined by ':').
    pub fn cert_sha256(&self) -> String {
        cert_sha256(&self.dir.join("cert.pem"))
    }

    /// The last lines of `dovecot.log`.
    pub fn log_tail(&self) -> String {
        tail(&self.dir.join("dovecot.log"))
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The aiosmtpd submission server: STARTTLS (or implicit TLS), AUTH PLAIN/LOGIN
/// required for alice and bob (password "secret"); recipients `reject*` get 550,
/// `tempfail*` 451, `slow*` a 30 s DATA; accepted mail lands in `spool`.
pub struct SmtpServer {
    /// Where it listens.
    pub port: u16,
    /// Accepted messages as `NNNN.eml` and one JSON line each in `log.jsonl`.
    pub spool: PathBuf,
    /// Its self-signed certificate for "localhost" (PEM).
    pub cert: PathBuf,
    /// Implicit TLS instead of STARTTLS.
    pub implicit_tls: bool,
    child: Option<Child>,
    tmp: tempfile::TempDir,
}

impl SmtpServer {
    /// Makes a certificate and starts the server on a free port (another if it
    /// was taken meanwhile).
    pub fn start(implicit_tls: bool) -> SmtpServer {
        let tmp = temp_dir("homepost-smtp-");
        let cert = tmp.path().join("cert.pem");
        let status = Command::new(peers_dir().join("make-cert"))
            .arg(&cert)
            .arg(tmp.path().join("key.pem"))
            .status()
            .expect("spawn tests/peers/make-cert");
        assert!(status.success(), "tests/peers/make-cert: {status}");
        let mut smtp = SmtpServer {
            port: 0,
            spool: tmp.path().join("spool"),
            cert,
            implicit_tls,
            child: None,
            tmp,
        };
        for attempt in 1..=START_ATTEMPTS {
            smtp.port = free_port();
            match smtp.try_spawn() {
                Ok(()) => return smtp,
                Err(e) if attempt < START_ATTEMPTS && e.contains("ddress already in use") => {
                    eprintln!("smtp-server: port {} was taken, trying another", smtp.port);
                }
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!("the last attempt panics")
    }

    fn spawn(&mut self) {
        if let Err(e) = self.try_spawn() {
            panic!("{e}");
        }
    }

    /// Starts the server and waits until it says "ready"; on failure it is killed
    /// and the error holds the end of its log.
    fn try_spawn(&mut self) -> Result<(), String> {
        let log_path = self.tmp.path().join("smtp-server.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut command = Command::new(peers_dir().join("smtp-server"));
        command
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--cert")
            .arg(&self.cert)
            .arg("--key")
            .arg(self.tmp.path().join("key.pem"))
            .arg("--spool")
            .arg(&self.spool);
        if self.implicit_tls {
            command.arg("--implicit-tls");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("spawn tests/peers/smtp-server");
        let stdout = child.stdout.take().unwrap();
        self.child = Some(child);
        // Its stdout says "ready" once it listens; EOF means it died.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) if line.trim() == "ready" => Ok(()),
            other => {
                self.kill();
                Err(format!(
                    "smtp-server on port {} did not start ({other:?})\n{}",
                    self.port,
                    tail(&log_path)
                ))
            }
        }
    }

    /// SIGKILL to the server; returns once its port is free.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
            wait_ports_free(&[self.port]);
        }
    }

    /// Kills the server (if running) and starts it again on the same port and spool.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The JSON line of each accepted message, in order of acceptance:
    /// `{"file", "mail_from", "rcpt_tos", "message_id", "size", "auth_user"}`.
    pub fn accepted(&self) -> Vec<serde_json::Value> {
        match fs::read_to_string(self.spool.join("log.jsonl")) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line in log.jsonl"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("read log.jsonl: {e}"),
        }
    }

    /// The raw bytes of an accepted message, by its `file` field.
    pub fn message(&self, file: &str) -> Vec<u8> {
        fs::read(self.spool.join(file)).unwrap()
    }

    /// Fingerprint of the server's certificate (uppercase hex pairs joined by ':').
    pub fn cert_sha256(&self) -> String {
        cert_sha256(&self.cert)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.kill();
    }
}
