//! Debian's `pagekite` as the frontend relay on 127.0.0.1.
//!
//! Debian 12's pagekite (1.5.2.201011) crashes on the first TLS connection it
//! is to route under Python 3: `GetSni` hands a `str` to `struct.unpack`
//! ("a bytes-like object is required"), and sending the TLS alert in the
//! exception handler fails the same way, which kills the whole process.
//! Upstream fixed this in commit 716b7f5 ("Convert bytes to/from string in
//! more places", December 2020, first released in 1.5.2.240101). The tests run
//! Debian's installed code with the TLS lines of that commit applied to a copy
//! (`PYTHONPATH` puts the copy first); once Debian ships the fix, the copy is
//! left as it is.

use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{KITE, SECRET, free_ports};

/// The TLS lines of upstream commit 716b7f5, per file of the package (its
/// `EatPeeked` line is not needed: Debian's copy reads into bytes already).
const UPSTREAM_FIX: &[(&str, &str, &str)] = &[
    (
        "proto/selectables.py",
        "struct.unpack('>BBH', data[0:4])",
        "struct.unpack('>BBH', b(data[0:4]))",
    ),
    (
        "proto/selectables.py",
        "struct.unpack('>B', msg[34])[0]",
        "struct.unpack('>B', b(msg[34]))[0]",
    ),
    (
        "proto/selectables.py",
        "struct.unpack('>H', msg[35+slen:37+slen])[0]",
        "struct.unpack('>H', b(msg[35+slen:37+slen]))[0]",
    ),
    (
        "proto/selectables.py",
        "struct.unpack('>B', msg[37+slen+cslen])[0]",
        "struct.unpack('>B', b(msg[37+slen+cslen]))[0]",
    ),
    (
        "proto/selectables.py",
        "struct.unpack('>HH', extensions[0:4])",
        "struct.unpack('>HH', b(extensions[0:4]))",
    ),
    (
        "proto/selectables.py",
        "struct.unpack('>BH', namelist[0:3])",
        "struct.unpack('>BH', b(namelist[0:3]))",
    ),
    (
        "proto/selectables.py",
        "struct.unpack('>BBBH', data[0:5])",
        "struct.unpack('>BBBH', b(data[0:5]))",
    ),
    (
        "proto/proto.py",
        "return struct.pack('>BBBBBBB', 0x15, 3, 3, 0, 2, 2, 49)",
        "return s(struct.pack('>BBBBBBB', 0x15, 3, 3, 0, 2, 2, 49))",
    ),
];

/// Debian's `pagekite` running as a frontend relay on 127.0.0.1, taking `KITE`
/// with `SECRET` for `https`. Killed when dropped.
pub struct Frontend {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    starts: usize,
}

fn pagekite_path() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("pagekite"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "pagekite is not installed: the relay tests run Debian's PageKite as the \
                 frontend relay. Install it with `apt-get install -y pagekite`."
            )
        })
}

/// Where the Python that runs `pagekite` (its `#!` line) finds its package.
fn package_dir() -> PathBuf {
    let script = fs::read_to_string(pagekite_path()).expect("read the pagekite script");
    let python = script
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("#!"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or("python3")
        .to_owned();
    let out = Command::new(&python)
        .args([
            "-c",
            "import os, pagekite; print(os.path.dirname(pagekite.__file__))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {python}: {e}"));
    assert!(
        out.status.success(),
        "{python} cannot import pagekite ({}); install it with `apt-get install -y pagekite`",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create the package copy");
    for entry in fs::read_dir(from).expect("read the pagekite package") {
        let entry = entry.expect("package entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("entry type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else if entry.path().extension().is_some_and(|e| e == "py") {
            fs::copy(entry.path(), &target).expect("copy a package file");
        }
    }
}

/// A copy of the installed package under `dir` with the upstream fix applied;
/// the directory to put on `PYTHONPATH`.
fn fixed_package(dir: &Path) -> PathBuf {
    let root = dir.join("python");
    let package = root.join("pagekite");
    copy_tree(&package_dir(), &package);
    for (file, broken, fixed) in UPSTREAM_FIX {
        let path = package.join(file);
        let text = fs::read_to_string(&path).expect("read a package file");
        if text.contains(fixed) {
            continue;
        }
        assert_eq!(
            text.matches(broken).count(),
            1,
            "pagekite's {file} changed: neither the broken line nor its fix is there: {broken}"
        );
        fs::write(&path, text.replacen(broken, fixed, 1)).expect("write a package file");
    }
    root
}

impl Frontend {
    /// Starts a frontend on a free port.
    pub fn start() -> Self {
        let [port] = free_ports::<1>();
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut frontend = Self {
            port,
            child: None,
            dir,
            starts: 0,
        };
        frontend.launch();
        frontend
    }

    fn log(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("pagekite-{}.log", self.starts))
    }

    fn launch(&mut self) {
        let python_path = self.dir.path().join("python");
        let python_path = if python_path.is_dir() {
            python_path
        } else {
            fixed_package(self.dir.path())
        };
        self.starts += 1;
        let log = File::create(self.log()).expect("create the frontend's log");
        let child = Command::new(pagekite_path())
            .args([
                "--clean",
                "--nullui",
                "--nocrashreport",
                "--isfrontend",
                "--host=127.0.0.1",
            ])
            .arg(format!("--ports={}", self.port))
            .arg("--protos=https")
            .arg(format!("--domain=https:{KITE}:{SECRET}"))
            .env("PYTHONPATH", python_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start pagekite");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pagekite did not listen on {}\n{}",
                self.port,
                self.tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the frontend at once (SIGKILL), as a crash or a lost relay would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the frontend again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// The end of the current run's log, for failure messages.
    pub fn tail(&self) -> String {
        let path = self.log();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {} ---\n{}",
            path.display(),
            lines[lines.len().saturating_sub(60)..].join("\n")
        )
    }
}

impl Drop for Frontend {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.tail());
        }
        self.kill();
    }
}
