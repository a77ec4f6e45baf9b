//! The private Tor network the tests run against, and what they share: Tor
//! clients on it, a tiny HTTP server, a request over a Tor stream, a search
//! for key material on disk.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use homepost_net::dial::{BoxedConnection, Dialer};
use homepost_onion::{Tor, TorConfig, TorDialer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The body the test HTTP server answers with.
pub const BODY: &str = "hello from the box";

/// The network's directory: `HOMEPOST_TOR_NET` if set (a network started
/// with `tests/peers/tor-net start DIR`), else one this test binary starts
/// once, owned by this process so it exits when the tests do.
pub fn network() -> &'static Path {
    static NETWORK: OnceLock<PathBuf> = OnceLock::new();
    NETWORK.get_or_init(|| {
        // arti's own log, with RUST_LOG (e.g. RUST_LOG=tor_hsservice=debug).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        if let Some(dir) = std::env::var_os("HOMEPOST_TOR_NET") {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("arti.toml").is_file(),
                "HOMEPOST_TOR_NET={} has no arti.toml: start it with tests/peers/tor-net start DIR",
                dir.display()
            );
            return dir;
        }
        let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tor-net");
        std::fs::create_dir_all(&parent).unwrap();
        remove_stale_networks(&parent);
        let dir = parent.join(format!("run-{}", std::process::id()));
        let started = Instant::now();
        let out = Command::new(script())
            .arg("start")
            .arg(&dir)
            .arg("--owner")
            .arg(std::process::id().to_string())
            .output()
            .expect("run tests/peers/tor-net");
        assert!(
            out.status.success(),
            "tests/peers/tor-net start failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "private Tor network up in {:.1} s at {}",
            started.elapsed().as_secs_f64(),
            dir.display()
        );
        dir
    })
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/tor-net")
}

/// Networks of earlier test runs whose owner is gone: their Tor processes
/// have exited (or will, within seconds); stop any straggler, drop the files.
fn remove_stale_networks(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("run-")) else {
            continue;
        };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        let _ = Command::new(script())
            .arg("stop")
            .arg(entry.path())
            .output();
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

/// A Tor client's directories, removed when dropped.
pub struct TorDirs {
    /// Removed on drop.
    _root: tempfile::TempDir,
    pub config: TorConfig,
}

/// Directories for a Tor client on the test network, with `fragment` (the
/// network's arti.toml if `None`).
pub fn tor_dirs(fragment: Option<PathBuf>) -> TorDirs {
    let root = tempfile::tempdir().unwrap();
    let config = TorConfig {
        state_dir: root.path().join("tor/state"),
        cache_dir: root.path().join("tor/cache"),
        network: Some(fragment.unwrap_or_else(|| network().join("arti.toml"))),
    };
    TorDirs {
        _root: root,
        config,
    }
}

/// A Tor client on the test network, bootstrapped.
pub async fn bootstrapped(dirs: &TorDirs) -> Tor {
    let started = Instant::now();
    let tor = tokio::time::timeout(Duration::from_secs(120), Tor::bootstrap(&dirs.config))
        .await
        .expect("Tor did not bootstrap within 120 s")
        .expect("Tor bootstrap");
    eprintln!(
        "Tor client bootstrapped in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    tor
}

/// An HTTP server on 127.0.0.1 answering every request with [`BODY`], and
/// the address of each connection it accepted.
pub async fn http_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = conn.write_all(response.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    addr
}

/// Sends a GET over `conn` and returns the response. arti may end a stream
/// with an END cell of reason MISC after the whole response arrived: an
/// error once the body is complete counts as the end.
pub async fn http_get(mut conn: BoxedConnection, host: &str) -> std::io::Result<String> {
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await?;
    conn.flush().await?;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) if String::from_utf8_lossy(&response).ends_with(BODY) => {
                eprintln!("stream ended with an error after the whole response (tolerated): {e}");
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Dials `host:port` until a GET gets the test body, for at most `within`;
/// returns how long it took. Each attempt is bounded too.
pub async fn get_until_ok(dialer: &TorDialer, host: &str, port: u16, within: Duration) -> Duration {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = tokio::time::timeout(Duration::from_secs(60), async {
            let conn = dialer.dial(host, port).await?;
            http_get(conn, host).await
        })
        .await;
        let error = match attempt {
            Ok(Ok(response)) if response.ends_with(BODY) => {
                eprintln!("{host}:{port} answered after {attempts} attempt(s)");
                return started.elapsed();
            }
            Ok(Ok(response)) => format!("unexpected response {response:?}"),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 60 s".to_owned(),
        };
        assert!(
            started.elapsed() < within,
            "{host}:{port} not reachable within {within:?}; last error: {error}"
        );
        eprintln!("attempt {attempts}: {error}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Files under `dir` holding `secret` raw, in hex, or in base64 at any
/// alignment (also across line breaks, as in an OpenSSH key file).
pub fn files_holding(dir: &Path, secret: &[u8]) -> Vec<PathBuf> {
    let needles = encodings(secret);
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && holds(&bytes, &needles)
            {
                found.push(path);
            }
        }
    }
    found
}

fn encodings(secret: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let mut out = vec![
        secret.to_vec(),
        hex::encode(secret).into_bytes(),
        hex::encode_upper(secret).into_bytes(),
    ];
    for shift in 0..3 {
        let mut shifted = vec![0xa5u8; shift];
        shifted.extend_from_slice(secret);
        shifted.extend_from_slice(&[0x5a, 0x5a, 0x5a]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&shifted);
        // Characters that mix in the neighbouring bytes are left out.
        out.push(encoded.as_bytes()[4..encoded.len() - 8].to_vec());
    }
    out
}

fn holds(haystack: &[u8], needles: &[Vec<u8>]) -> bool {
    let unwrapped: Vec<u8> = haystack
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    needles.iter().any(|n| {
        haystack.windows(n.len()).any(|w| w == n) || unwrapped.windows(n.len()).any(|w| w == n)
    })
}

#[test]
fn the_key_search_finds_a_wrapped_base64_key() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let secret: Vec<u8> = (0u8..64).map(|i| i.wrapping_mul(37) ^ 0x5c).collect();
    for prefix in 0..3 {
        let mut blob = b"openssh-key-v1\0".to_vec();
        blob.extend(std::iter::repeat_n(7u8, 40 + prefix));
        blob.extend_from_slice(&secret);
        blob.extend_from_slice(b"comment");
        let encoded = base64::engine::general_purpose::STANDARD.encode(&blob);
        let wrapped: Vec<String> = encoded
            .as_bytes()
            .chunks(70)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let path = dir.path().join(format!("key{prefix}"));
        std::fs::write(&path, wrapped.join("\n")).unwrap();
        assert_eq!(
            files_holding(dir.path(), &secret),
            std::slice::from_ref(&path)
        );
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::write(dir.path().join("raw"), [&[1u8, 2][..], &secret].concat()).unwrap();
    std::fs::write(dir.path().join("hex"), hex::encode(&secret)).unwrap();
    assert_eq!(files_holding(dir.path(), &secret).len(), 2);
    assert!(files_holding(dir.path(), &[9u8; 32]).is_empty());
}
