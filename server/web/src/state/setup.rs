//! Setting a new box up: who may (the claim), making its vault, and restoring
//! it from a backup instead.

use std::net::IpAddr;
use std::time::Instant;

use homepost_vault::{Passphrase, Vault};

use super::{AppState, NewSession, vault_exists};
use crate::error::ApiError;

impl AppState {
    /// Whether this request may set the box up (make its vault, restore it):
    /// from the box itself, or holding the claim, or bringing the setup code
    /// while nobody else holds the claim. Wrong codes are throttled like wrong
    /// passphrases.
    pub(crate) fn check_claim(
        &self,
        client: Option<IpAddr>,
        local: bool,
        setup_token: Option<&str>,
        claim_cookie: Option<&str>,
    ) -> Result<(), ApiError> {
        if self.setup_token_required(local) {
            let now = Instant::now();
            if !self.claim.held_by(claim_cookie, now) {
                // Only this client's own failures hold it back (see failed_by_client).
                self.throttle()
                    .check(client, true, now)
                    .map_err(ApiError::throttled)?;
                let matches = self.claim.code_matches(setup_token.unwrap_or_default());
                if !matches {
                    if setup_token.is_some() {
                        self.throttle().failed_by_client(client, now);
                    }
                    return Err(crate::routes::setup::claim_refused(
                        if setup_token.is_some() {
                            crate::claim::ClaimError::Wrong
                        } else {
                            crate::claim::ClaimError::NoCode
                        },
                    ));
                }
                if self.claim.taken_by_other(claim_cookie, now) {
                    return Err(crate::routes::setup::claim_refused(
                        crate::claim::ClaimError::Taken,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates the vault (only if there is none), opens the library and starts a
    /// session. Unless the request is `local` (from the box itself), it must hold
    /// the claim (`claim_cookie`, see [`crate::claim`]) or bring the setup code
    /// printed at start while nobody else holds the claim; wrong codes are
    /// throttled like wrong passphrases, and the code is spent once the vault
    /// exists.
    pub async fn create_vault(
        &self,
        client: Option<IpAddr>,
        local: bool,
        setup_token: Option<&str>,
        claim_cookie: Option<&str>,
        passphrase: Passphrase,
    ) -> Result<NewSession, ApiError> {
        if self.has_vault() {
            return Err(vault_exists());
        }
        if self.restore.busy() {
            return Err(ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                "restore_running",
                "the box is being restored from its backup",
            ));
        }
        self.check_claim(client, local, setup_token, claim_cookie)?;
        if let Some(why) = homepost_vault::strength::refusal(passphrase.expose(), &["homepost"]) {
            return Err(ApiError::bad_request("weak_passphrase", why));
        }
        let _one_at_a_time = self
            .kdf_gate
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        // Again, after the wait: a restore may have started or ended meanwhile.
        if self.has_vault() {
            return Err(vault_exists());
        }
        if self.restore.busy() {
            return Err(ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                "restore_running",
                "the box is being restored from its backup",
            ));
        }
        let (dir, kdf) = (self.data_dir.clone(), self.kdf);
        let vault = tokio::task::spawn_blocking(move || Vault::create(&dir, &passphrase, kdf))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(|e| ApiError::internal(&e))?;
        // Spent: the box is claimed.
        self.claim.spend();
        tracing::info!(dir = %self.data_dir.display(), "vault created");
        self.open_and_start_session(vault).await
    }
}
