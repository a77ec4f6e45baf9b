//! `homepost serve --config FILE`: the file's settings are used, flags override
//! them, and a bad file stops the start with the key and the line.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::*;

#[test]
fn serve_reads_its_settings_from_the_file_and_flags_override_them() {
    let home = Home::new();
    home.init();
    let config = home.path("homepost.toml");
    fs::write(
        &config,
        "# the appliance's settings\nlisten = \"127.0.0.1:0\"\nidle_timeout = 5\nkey_lookup = \"off\"\n",
    )
    .unwrap();
    let c = config.display().to_string();
    let (port, mut server) = serve_port(&home, &["serve", "--config", &c]);
    // Not the default 33411: the file's `listen` (port 0, any free port) was used.
    assert!(port > 0 && port != 33411, "{port}");
    let _ = server.kill();
    let _ = server.wait();

    // A flag wins over the file: the server listens where the flag says.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let wanted = free.local_addr().unwrap().port();
    drop(free);
    let listen = format!("127.0.0.1:{wanted}");
    let (port, mut server) = serve_port(&home, &["serve", "--config", &c, "--listen", &listen]);
    assert_eq!(port, wanted);
    let _ = server.kill();
    let _ = server.wait();

    // The data directory from the file, when neither --data nor HOMEPOST_DATA says one.
    let config = home.path("with-data.toml");
    fs::write(
        &config,
        format!(
            "data_dir = {:?}\nlisten = \"127.0.0.1:0\"\n",
            home.data().display().to_string()
        ),
    )
    .unwrap();
    let mut server = home
        .cmd(PASS)
        .env_remove("HOMEPOST_DATA")
        .env("HOME", home.path("elsewhere"))
        .args(["serve", "--config", &config.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut text = String::new();
    for _ in 0..2 {
        out.read_line(&mut text).unwrap();
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        text.contains("It is locked"),
        "the vault in data_dir was not found: {text}"
    );
}

#[test]
fn a_bad_file_stops_the_start_naming_the_key_and_the_line() {
    let home = Home::new();
    home.init();
    for (text, words) in [
        (
            "listen = \"127.0.0.1:0\"\nlisen = \"x\"\n",
            &["line 2", "lisen"][..],
        ),
        ("idle_timeout = 0\n", &["line 1", "from 1 to 1440"][..]),
        (
            "[tls]\ncert = \"/etc/homepost/cert.pem\"\n",
            &["line 1", "both"][..],
        ),
    ] {
        let config = home.path("bad.toml");
        fs::write(&config, text).unwrap();
        let out = home.run_with(PASS, &["serve", "--config", &config.display().to_string()]);
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        for w in words {
            assert!(err.contains(w), "{text}: {err}");
        }
        assert!(err.contains("does not start"), "{err}");
    }
    let out = home.run_with(PASS, &["serve", "--config", "/nonexistent/homepost.toml"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the configuration file"));
}
