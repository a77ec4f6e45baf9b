//! Accounts: adding one (with an OpenPGP key for its address), changing its
//! settings, removing it, and trusting a server certificate that does not
//! validate. The app and `homepost account` share these rules: a pinned
//! certificate is set only by [`trust`], and kept by [`update`] only while the
//! server stays the same host and port.

use homepost_store::{AccountConfig, Endpoint, Secrets, Side, Store};

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The settings are not usable (the reason says which).
    #[error("{0}")]
    Invalid(String),
    /// No account has this id.
    #[error("there is no account {0}")]
    NoSuchAccount(i64),
    /// The account has no server on that side.
    #[error("account {0} has no such server")]
    NoSuchServer(i64),
    /// Not a SHA-256 fingerprint.
    #[error("that is not a SHA-256 fingerprint (64 hex digits)")]
    BadFingerprint,
    /// Not the certificate the server presented at the last attempt.
    #[error(
        "that is not the certificate the server last presented: sync the account and compare again"
    )]
    NotPresented,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// The account's OpenPGP key could not be made.
    #[error("the account's OpenPGP key could not be made: {0}")]
    Key(String),
}

/// Adds an account after checking its settings, and makes sure its address has
/// an OpenPGP key. Returns its id and the key's fingerprint.
///
/// A pinned certificate is kept only when `presented(host, port, fingerprint)`
/// says that server showed exactly that certificate to a connection test the
/// user just confirmed; otherwise pins are set only by [`trust`].
pub async fn add(
    store: &Store,
    mut config: AccountConfig,
    secrets: &Secrets,
    now: i64,
    presented: &(dyn Fn(&str, u16, &str) -> bool + Sync),
) -> Result<(i64, String), AccountError> {
    config.check().map_err(AccountError::Invalid)?;
    for endpoint in endpoints_mut(&mut config) {
        let pin = endpoint
            .pinned_sha256
            .as_deref()
            .and_then(homepost_transport::tls::normalize_fingerprint);
        endpoint.pinned_sha256 =
            pin.filter(|fp| presented(&endpoint.host, endpoint.port, fp.as_str()));
    }
    let id = store.add_account(&config, secrets, now).await?;
    let fingerprint =
        crate::keys::ensure_identity_key(store, Some(&config.display_name), &config.email, now)
            .await
            .map_err(|e| AccountError::Key(e.to_string()))?;
    Ok((id, fingerprint))
}

/// Replaces account `id`'s settings; a missing password keeps the stored one.
/// A trusted certificate stays trusted only while its server is the same.
pub async fn update(
    store: &Store,
    id: i64,
    mut config: AccountConfig,
    secrets: &Secrets,
) -> Result<(), AccountError> {
    let old = store
        .account(id)
        .await?
        .ok_or(AccountError::NoSuchAccount(id))?;
    let old_in = old.config.incoming.as_ref().map(|i| &i.endpoint);
    let old_out = old.config.outgoing.as_ref().map(|o| &o.endpoint);
    if let Some(i) = config.incoming.as_mut() {
        i.endpoint.pinned_sha256 = kept_pin(old_in, &i.endpoint);
    }
    if let Some(o) = config.outgoing.as_mut() {
        o.endpoint.pinned_sha256 = kept_pin(old_out, &o.endpoint);
    }
    config.check().map_err(AccountError::Invalid)?;
    if !store.update_account(id, &config, secrets).await? {
        return Err(AccountError::NoSuchAccount(id));
    }
    Ok(())
}

/// Removes account `id`; the mail fetched from it stays.
pub async fn remove(store: &Store, id: i64) -> Result<(), AccountError> {
    if store.delete_account(id).await? {
        Ok(())
    } else {
        Err(AccountError::NoSuchAccount(id))
    }
}

/// What a fingerprint to trust is compared with.
#[derive(Debug, Clone, Copy)]
pub enum TrustCheck<'a> {
    /// The certificate the server presented at the last attempt, as the running
    /// transport saw it (`None`: none seen): the fingerprint must be that one.
    LastPresented(Option<&'a str>),
    /// Nothing to compare with: the command line without a running server,
    /// where the user copied the fingerprint from `homepost fetch`'s error.
    AsTyped,
}

/// Trusts the server certificate with SHA-256 `fingerprint` (any case, with or
/// without colons) for one side of account `id`. Returns the fingerprint as
/// stored.
pub async fn trust(
    store: &Store,
    id: i64,
    side: Side,
    fingerprint: &str,
    check: TrustCheck<'_>,
) -> Result<String, AccountError> {
    let wanted = homepost_transport::tls::normalize_fingerprint(fingerprint)
        .ok_or(AccountError::BadFingerprint)?;
    if let TrustCheck::LastPresented(presented) = check
        && presented != Some(wanted.as_str())
    {
        return Err(AccountError::NotPresented);
    }
    if !store.pin_certificate(id, side, &wanted).await? {
        return Err(AccountError::NoSuchServer(id));
    }
    tracing::info!(account = id, ?side, fingerprint = %wanted, "certificate pinned by the user");
    Ok(wanted)
}

/// The old pin, when the server is still the same host and port.
fn kept_pin(old: Option<&Endpoint>, new: &Endpoint) -> Option<String> {
    old.filter(|o| o.host == new.host && o.port == new.port)
        .and_then(|o| o.pinned_sha256.clone())
}

fn endpoints_mut(config: &mut AccountConfig) -> impl Iterator<Item = &mut Endpoint> {
    let incoming = config.incoming.as_mut().map(|i| &mut i.endpoint);
    let outgoing = config.outgoing.as_mut().map(|o| &mut o.endpoint);
    incoming.into_iter().chain(outgoing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(host: &str, port: u16, pin: Option<&str>) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            security: homepost_store::Security::Tls,
            username: "me".into(),
            pinned_sha256: pin.map(str::to_owned),
        }
    }

    #[test]
    fn a_pin_is_kept_only_for_the_same_server() {
        let old = endpoint("mail.example.org", 993, Some("AB"));
        for (new, kept) in [
            (endpoint("mail.example.org", 993, None), Some("AB")),
            (endpoint("mail.example.org", 993, Some("CD")), Some("AB")),
            (endpoint("mail.example.org", 143, None), None),
            (endpoint("other.example.org", 993, Some("AB")), None),
        ] {
            assert_eq!(
                kept_pin(Some(&old), &new).as_deref(),
                kept,
                "{}:{}",
                new.host,
                new.port
            );
        }
        assert_eq!(
            kept_pin(None, &endpoint("mail.example.org", 993, Some("AB"))),
            None
        );
    }
}
