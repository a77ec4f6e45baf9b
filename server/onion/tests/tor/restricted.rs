//! Restricted discovery: only a client holding a configured key finds the
//! service.

use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::time::{Duration, Instant};

use homepost_net::dial::Dialer as _;
use homepost_onion::{ClientAuthKey, OnionConfig, OnionIdentity, OnionStatus, Tor};
use std::io::Write as _;

use super::network::{bootstrapped, get_until_ok, http_server, network, tor_dirs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_client_with_the_key_reaches_a_restricted_service() {
    let identity = OnionIdentity::generate().unwrap();
    let address = identity.onion_address();
    let (key, secret) = ClientAuthKey::generate().unwrap();
    // The service side takes the key in C-tor's authorized_clients format.
    let key: ClientAuthKey = key.to_string().parse().unwrap();

    // The keyed client reads the secret the way Tor Browser and C-tor do: an
    // .auth_private file in a client auth directory (arti's C-tor client
    // keystore), which proves the format.
    let auth = tempfile::tempdir().unwrap();
    let auth_dir = auth.path().join("onion-auth");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&auth_dir)
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(auth_dir.join("box.auth_private"))
        .unwrap();
    writeln!(
        file,
        "{}",
        secret.to_auth_private(&address).unwrap().as_str()
    )
    .unwrap();
    drop(file);
    let fragment = auth.path().join("arti.toml");
    let base = std::fs::read_to_string(network().join("arti.toml")).unwrap();
    std::fs::write(
        &fragment,
        format!(
            "{base}\n[storage.keystore.ctor]\nclients = [{{ id = \"tor-browser\", path = {:?} }}]\n",
            auth_dir.display().to_string()
        ),
    )
    .unwrap();

    let target = http_server().await;
    let service_dirs = tor_dirs(None);
    let keyed_dirs = tor_dirs(Some(fragment));
    let keyless_dirs = tor_dirs(None);
    // The service is launched before its Tor has bootstrapped, as the server
    // does: it publishes once Tor is ready.
    let service_tor = Tor::start(&service_dirs.config).unwrap();
    let launched = Instant::now();
    let service = service_tor
        .launch_onion(OnionConfig {
            nickname: "restricted".into(),
            identity: &identity,
            target,
            port: 80,
            restricted_discovery: vec![key],
        })
        .unwrap();
    assert_eq!(*service.status().borrow(), OnionStatus::Bootstrapping);
    let (keyed_tor, keyless_tor) =
        tokio::join!(bootstrapped(&keyed_dirs), bootstrapped(&keyless_dirs));

    get_until_ok(&keyed_tor.dialer(), &address, 80, Duration::from_secs(300)).await;
    eprintln!(
        "MEASURED: restricted onion service, launched before Tor bootstrapped, reachable with the key {:.1} s after starting Tor",
        launched.elapsed().as_secs_f64()
    );

    // The descriptor is published (the keyed client used it): without the
    // key it cannot be decrypted, and the client says so promptly.
    let started = Instant::now();
    let attempt = tokio::time::timeout(
        Duration::from_secs(90),
        keyless_tor.dialer().dial(&address, 80),
    )
    .await
    .expect("the keyless client neither failed nor connected within 90 s");
    let Err(err) = attempt else {
        panic!("a client without the key reached the restricted service");
    };
    eprintln!(
        "keyless client refused after {:.1} s: {err}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    drop(service);
}
