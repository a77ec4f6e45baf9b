//! `homepost account`, `homepost fetch` and `homepost outbox`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use homepost_core::accounts::{self, TrustCheck};
use homepost_core::library::Library;
use homepost_mail::text::terminal_safe;
use homepost_store::{
    AccountConfig, DeletePolicy, Endpoint, FirstScope, FirstSync, Incoming, Outgoing, Protocol,
    Secrets, Security, Side,
};
use homepost_transport::{Options, SyncState, Transport};
use tokio::sync::RwLock;

use crate::cli::{
    AccountArgs, AccountCommand, ExistingMail, KeyCommand, OutboxCommand, SecurityArg, SideArg,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn host_port(s: &str, what: &str) -> Result<(String, u16)> {
    let (host, port) = s
        .rsplit_once(':')
        .with_context(|| format!("give the {what} server as HOST:PORT, not {s:?}"))?;
    let port = port
        .parse::<u16>()
        .with_context(|| format!("{port:?} is not a port number"))?;
    Ok((host.trim_matches(['[', ']']).to_owned(), port))
}

pub(crate) fn security(s: SecurityArg) -> Security {
    match s {
        SecurityArg::Tls => Security::Tls,
        SecurityArg::Starttls => Security::Starttls,
        SecurityArg::Plain => Security::Plain,
    }
}

pub(crate) fn password(env: &str, label: &str) -> Result<String> {
    if let Some(p) = crate::console::var(env) {
        return Ok(p.to_string());
    }
    if !crate::console::stdin_is_terminal() {
        bail!("no {label} password: set {env} or run on a terminal");
    }
    rpassword::prompt_password(format!("{label} password: "))
        .with_context(|| format!("cannot read the {label} password"))
}

fn account_config(a: &AccountArgs) -> Result<AccountConfig> {
    let incoming = match (&a.imap, &a.pop3) {
        (Some(s), _) | (None, Some(s)) => {
            let protocol = if a.imap.is_some() {
                Protocol::Imap
            } else {
                Protocol::Pop3
            };
            let (host, port) = host_port(s, "incoming")?;
            Some(Incoming {
                protocol,
                endpoint: Endpoint {
                    host,
                    port,
                    security: security(a.incoming_security),
                    username: a.incoming_user.clone().unwrap_or_else(|| a.email.clone()),
                    pinned_sha256: None,
                },
                folders: a.folder.clone(),
                policy: match (a.delete_when_stored, a.delete_after_days) {
                    (true, _) => DeletePolicy::DeleteWhenStored,
                    (false, Some(days)) => DeletePolicy::DeleteAfter { days },
                    (false, None) => DeletePolicy::Keep,
                },
                sent_folder: a.sent_folder.clone(),
                poll_seconds: a.poll_seconds,
                first_sync: FirstSync {
                    scope: match a.existing {
                        ExistingMail::All => FirstScope::All,
                        ExistingMail::Recent => FirstScope::Recent,
                        ExistingMail::None => FirstScope::None,
                    },
                    days: a.recent_days,
                    mark_read: a.mark_old_read,
                },
            })
        }
        (None, None) => None,
    };
    let outgoing = match &a.smtp {
        Some(s) => {
            let (host, port) = host_port(s, "outgoing")?;
            Some(Outgoing {
                endpoint: Endpoint {
                    host,
                    port,
                    security: security(a.smtp_security),
                    username: a.smtp_user.clone().unwrap_or_else(|| a.email.clone()),
                    pinned_sha256: None,
                },
            })
        }
        None => None,
    };
    let mut config = AccountConfig {
        name: a.name.clone(),
        email: a.email.clone(),
        display_name: a.display_name.clone(),
        incoming,
        outgoing,
    };
    // Checked before the passwords are asked for (and again by the core).
    config.check().map_err(anyhow::Error::msg)?;
    Ok(config)
}

fn describe(config: &AccountConfig) -> (String, String) {
    let incoming = config.incoming.as_ref().map_or("-".to_owned(), |i| {
        format!(
            "{}://{}:{}",
            match i.protocol {
                Protocol::Imap => "imap",
                Protocol::Pop3 => "pop3",
            },
            i.endpoint.host,
            i.endpoint.port
        )
    });
    let outgoing = config.outgoing.as_ref().map_or("-".to_owned(), |o| {
        format!("smtp://{}:{}", o.endpoint.host, o.endpoint.port)
    });
    (incoming, outgoing)
}

/// `homepost account ...`.
pub async fn account_command(cmd: &AccountCommand, lib: &mut Library) -> Result<()> {
    let store = lib.store();
    match cmd {
        AccountCommand::List { json } => {
            let accounts = store.accounts().await?;
            if *json {
                let list: Vec<_> = accounts
                    .iter()
                    .map(|a| serde_json::json!({"id": a.id, "config": a.config}))
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for a in &accounts {
                    let (i, o) = describe(&a.config);
                    outln!(
                        "{}\t{}\t{}\t{i}\t{o}",
                        a.id,
                        terminal_safe(&a.config.name),
                        terminal_safe(&a.config.email)
                    );
                }
            }
        }
        AccountCommand::Add(args) => {
            let config = account_config(args)?;
            let secrets = Secrets {
                incoming: match config.incoming {
                    Some(_) => Some(password("HOMEPOST_INCOMING_PASSWORD", "Incoming server")?),
                    None => None,
                },
                outgoing: match config.outgoing {
                    Some(_) => Some(password("HOMEPOST_OUTGOING_PASSWORD", "Outgoing server")?),
                    None => None,
                },
            };
            let (id, fpr) = accounts::add(store, config, &secrets, now(), &|_, _, _| false).await?;
            outln!("Added account {id}; its OpenPGP key is {fpr}.");
            outln!("Run `homepost fetch --account {id}` to test it.");
        }
        AccountCommand::Remove { id } => {
            accounts::remove(store, *id).await?;
            outln!("Removed account {id}; its mail stays.");
        }
        AccountCommand::Trust {
            id,
            side,
            fingerprint,
        } => {
            let side = match side {
                SideArg::Incoming => Side::Incoming,
                SideArg::Outgoing => Side::Outgoing,
            };
            let fp = accounts::trust(store, *id, side, fingerprint, TrustCheck::AsTyped).await?;
            outln!("Account {id} now trusts the certificate {fp}.");
        }
    }
    Ok(())
}

/// `homepost outbox ...`.
pub async fn outbox_command(cmd: Option<&OutboxCommand>, lib: &mut Library) -> Result<()> {
    let store = lib.store();
    match cmd {
        None | Some(OutboxCommand::List { json: false }) => {
            for i in store.outbox(now() - 7 * 86_400).await? {
                let state = serde_json::to_value(i.state)?;
                outln!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    i.id,
                    state.as_str().unwrap_or("?"),
                    i.attempts,
                    terminal_safe(&i.to.join(",")),
                    terminal_safe(&i.subject),
                    terminal_safe(i.last_error.as_deref().unwrap_or(""))
                );
            }
        }
        Some(OutboxCommand::List { json: true }) => {
            let items = store.outbox(now() - 7 * 86_400).await?;
            outln!("{}", serde_json::to_string_pretty(&items)?);
        }
        Some(OutboxCommand::Retry { id }) => {
            if !store
                .retry_outgoing(
                    *id,
                    now(),
                    Options::default().outbox_lifetime.as_secs() as i64,
                )
                .await?
            {
                bail!(
                    "outbox message {id} cannot be retried (it is queued, being sent, sent, or does not exist)"
                );
            }
            outln!("Outbox message {id} is queued again; `homepost fetch` or the server sends it.");
        }
        Some(OutboxCommand::Cancel { id }) => {
            if !store.cancel_outgoing(*id).await? {
                bail!(
                    "outbox message {id} cannot be cancelled (it is being sent, was sent, or does not exist)"
                );
            }
            outln!("Outbox message {id} is cancelled.");
        }
    }
    Ok(())
}

/// Runs the transport until every chosen account has been fetched once (or
/// failed) and nothing due is left in the outbox. Returns the library.
pub async fn fetch(lib: Library, only: Option<i64>, timeout: Duration) -> Result<Library> {
    let store = lib.store().clone();
    let accounts: Vec<_> = store
        .accounts()
        .await?
        .into_iter()
        .filter(|a| only.is_none_or(|id| id == a.id))
        .collect();
    if let Some(id) = only
        && accounts.is_empty()
    {
        bail!("there is no account {id}");
    }
    let shared = Arc::new(RwLock::new(Some(lib)));
    let sink = Arc::new(homepost_core::sink::LibrarySink::new(shared.clone()));
    let transport = Transport::start(store.clone(), sink, Options::default()).await?;
    let deadline = Instant::now() + timeout;
    let mut failed = false;
    let mut reported = std::collections::HashSet::new();
    loop {
        let mut waiting = false;
        for a in &accounts {
            let Some(s) = transport.status(a.id).incoming else {
                if a.config.incoming.is_some() {
                    waiting = true;
                }
                continue;
            };
            let done = s.state == SyncState::Error || s.last_success.is_some();
            if !done {
                waiting = true;
            } else if reported.insert(a.id) {
                if let Some(e) = &s.error {
                    failed = true;
                    errln!(
                        "account {} ({}): {}",
                        a.id,
                        terminal_safe(&a.config.name),
                        e.message
                    );
                    if let Some(fp) = &e.fingerprint {
                        errln!(
                            "  to trust it: homepost account trust {} --side incoming {fp}",
                            a.id
                        );
                    }
                } else {
                    errln!(
                        "account {} ({}): up to date",
                        a.id,
                        terminal_safe(&a.config.name)
                    );
                }
            }
        }
        let due = store.next_outgoing_due().await?.is_some_and(|t| t <= now());
        let sending = store
            .outbox(now())
            .await?
            .iter()
            .any(|i| i.state == homepost_store::OutboxState::Sending);
        if !waiting && !due && !sending {
            break;
        }
        if Instant::now() > deadline {
            failed = true;
            errln!("gave up waiting after {} s", timeout.as_secs());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    transport.shutdown().await;
    drop(transport);
    let lib = shared
        .write()
        .await
        .take()
        .context("the library was closed while fetching")?;
    for i in store.outbox(now() - 60).await? {
        if let Some(e) = &i.last_error
            && i.state != homepost_store::OutboxState::Sent
        {
            errln!("outbox {}: {:?}: {}", i.id, i.state, terminal_safe(e));
        }
    }
    if failed {
        lib.close().await;
        bail!("some accounts could not be fetched (see above)");
    }
    Ok(lib)
}

/// The `crypto` object of `show --json`: the message's OpenPGP outcome and the
/// sender's Autocrypt state.
pub fn crypto_json(
    outcome: Option<&homepost_core::incoming::CryptoOutcome>,
    peer: Option<&homepost_store::PeerRow>,
) -> serde_json::Value {
    let mut v = outcome
        .and_then(|o| serde_json::to_value(o).ok())
        .unwrap_or_else(|| {
            serde_json::json!({"encrypted": false, "decrypted": false, "signature": "no_signature", "signer": null})
        });
    if let serde_json::Value::Object(map) = &mut v {
        map.insert(
            "sender_peer".into(),
            serde_json::to_value(peer).unwrap_or_default(),
        );
    }
    v
}

/// `homepost key ...`.
pub async fn key_command(cmd: &KeyCommand, lib: &mut Library) -> Result<()> {
    use homepost_pgp::{Certificate, SecretKey};
    let store = lib.store();
    match cmd {
        KeyCommand::Export { secret, address } => {
            let key = own_key(store, address.as_deref()).await?;
            if *secret {
                let armored = key.to_armored()?;
                outln!("{}", armored.trim_end());
            } else {
                outln!("{}", key.certificate().to_armored()?.trim_end());
            }
        }
        KeyCommand::SetupMessage { file, address } => {
            // The same message as the app's (which sends it to the account).
            let address = match address {
                Some(a) => a.clone(),
                None => first_address(store).await?,
            };
            let made = homepost_core::keys::setup_message::make(
                store,
                &address,
                homepost_core::unix_now(),
            )
            .await?;
            std::fs::write(file, &made.message)
                .with_context(|| format!("cannot write {}", file.display()))?;
            outln!(
                "Wrote the Autocrypt Setup Message for {} to {}.",
                made.address,
                file.display()
            );
            outln!("Setup code (the other app asks for it; keep it secret):");
            outln!("{}", made.code.as_str());
        }
        KeyCommand::ImportSetup { file } => {
            let message =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let typed = match crate::console::var("HOMEPOST_SETUP_CODE") {
                Some(c) => c,
                None => {
                    if !crate::console::stdin_is_terminal() {
                        bail!("no setup code: set HOMEPOST_SETUP_CODE or run on a terminal");
                    }
                    zeroize::Zeroizing::new(rpassword::prompt_password("Setup code: ")?)
                }
            };
            let code = homepost_pgp::setup::SetupCode::parse(&typed)?;
            drop(typed);
            // The same rule as the web app's: only a Setup Message from and to
            // this box's own addresses, and the key only for those addresses.
            let imported =
                homepost_core::keys::setup_message::import(store, message, code, now()).await?;
            for a in &imported.addresses {
                outln!(
                    "Imported key {} for {a} from the Setup Message.",
                    imported.fingerprint
                );
            }
        }
        KeyCommand::Accept { address } => {
            use homepost_core::keys::Accepted;
            match homepost_core::keys::accept_key_change(store, address, None).await? {
                Accepted::Pinned(fpr) => outln!("{address}'s key is now {fpr}."),
                Accepted::NothingPending | Accepted::OtherKey(_) => {
                    bail!("no key change is waiting for {address}")
                }
            }
        }
        KeyCommand::Import { file } => {
            let data = zeroize::Zeroizing::new(
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?,
            );
            if let Ok(key) = SecretKey::from_bytes(&data) {
                let fpr = key.fingerprint().to_hex();
                let addresses = key.addresses();
                if addresses.is_empty() {
                    bail!("the key {fpr} has no e-mail address in its user ids");
                }
                for a in &addresses {
                    let a = homepost_pgp::autocrypt::canonical_address(a);
                    store
                        .add_identity_key(&fpr, &a, &key.to_bytes()?, now())
                        .await?;
                    outln!("Imported secret key {fpr} for {a}; it is now used for mail from {a}.");
                }
            } else {
                let cert =
                    Certificate::from_bytes(&data).context("that file holds no OpenPGP key")?;
                let fpr = cert.fingerprint().to_hex();
                if cert.addresses().is_empty() {
                    bail!("the key {fpr} has no e-mail address in its user ids");
                }
                for a in cert.addresses() {
                    let r = homepost_core::keys::remember_key(
                        store,
                        &a,
                        &cert,
                        homepost_pgp::discovery::KeySource::Imported,
                        now(),
                    )
                    .await?;
                    if r.key_changed {
                        outln!(
                            "{a} already has another key: {fpr} waits for you to compare it with them \
                             (then: homepost key accept {a})."
                        );
                    } else {
                        outln!("Imported public key {fpr} for {a}.");
                    }
                }
            }
        }
        KeyCommand::Lookup {
            address,
            no_keyserver,
        } => {
            let announced = homepost_core::keys::announced(store, address).await?;
            let client = homepost_net::Client::new(std::sync::Arc::new(homepost_net::Direct));
            let options = homepost_net::LookupOptions {
                announced: !no_keyserver,
                wkd: true,
                keys_openpgp_org: !no_keyserver,
            };
            let found = homepost_net::lookup(
                &client,
                address,
                announced.as_ref(),
                options,
                std::time::SystemTime::now(),
            )
            .await?;
            for a in &found.attempts {
                outln!("{:<17} {}: {}", a.source.as_str(), a.url, a.outcome);
            }
            let Some((cert, source)) = found.found else {
                bail!("no key found for {address}");
            };
            let r = homepost_core::keys::remember_key(store, address, &cert, source, now()).await?;
            if r.key_changed {
                outln!(
                    "Found {} for {}, but another key was trusted first: compare the new one \
                     with them, then: homepost key accept {}",
                    r.fingerprint,
                    r.address,
                    r.address
                );
            } else {
                outln!("Found {} for {} ({}).", r.fingerprint, r.address, r.source);
            }
        }
        KeyCommand::Peer { address, json } => {
            let Some(p) = homepost_core::keys::peer_summary(store, address, now()).await? else {
                bail!("nothing is known of {address}");
            };
            if *json {
                outln!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                outln!("Address:        {}", p.address);
                outln!(
                    "Key:            {} ({})",
                    p.key.as_deref().unwrap_or("none"),
                    p.key_source.as_deref().unwrap_or("-")
                );
                outln!("Trusted first:  {}", p.pinned.as_deref().unwrap_or("-"));
                if let Some(c) = &p.changed {
                    outln!(
                        "CHANGED TO:     {c} (compare it with them; homepost key accept {})",
                        p.address
                    );
                }
                outln!(
                    "History:        {} signed, {} encrypted, {} with Autocrypt",
                    p.signed_count,
                    p.encrypted_count,
                    p.autocrypt_count
                );
                outln!("Encryption:     {}", p.recommendation);
            }
        }
    }
    Ok(())
}

/// The user's active secret key for `address` (default: the first account's).
/// The first account's address.
async fn first_address(store: &homepost_store::Store) -> Result<String> {
    store
        .accounts()
        .await?
        .first()
        .map(|a| a.config.email.clone())
        .context("no account yet: give --address, or add an account first")
}

async fn own_key(
    store: &homepost_store::Store,
    address: Option<&str>,
) -> Result<homepost_pgp::SecretKey> {
    let address = match address {
        Some(a) => a.to_owned(),
        None => first_address(store).await?,
    };
    let key = store
        .active_identity_key(&homepost_pgp::autocrypt::canonical_address(&address))
        .await?
        .with_context(|| format!("no key for {address}"))?;
    Ok(homepost_pgp::SecretKey::from_bytes(&key.secret)?)
}
