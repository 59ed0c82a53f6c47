//! Consumer auth: a renter proves they hold the lease's consumer key and gets a bearer token
//! scoped to that lease.
//!
//! 1. `POST /v1/auth/challenge {lease_id}`: the worker checks the lease on chain (unspent, ours,
//!    not completed, before its deadline) and answers a random single-use `nonce` and the exact
//!    `message` to sign: [`auth_message`].
//! 2. `POST /v1/auth/token {lease_id, nonce, signature}`: `signature` (hex) is ergo-lib's Schnorr
//!    signature of `message` by the lease's consumer key (R4), as `Signer::sign_message` makes
//!    it. The nonce is spent by this call whatever the outcome. Answer: `token`, `expires_ms`.
//! 3. Job routes take `Authorization: Bearer <token>`; the token works for its lease only and
//!    expires after `token_ttl` or at the lease deadline, whichever comes first.
//!
//! Refusals are 401 (no, bad or expired credentials) or 403 (valid credentials for something
//! else), with a `reason` code and a human detail.

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;

use crate::chain::pk_from_hex;
use crate::metering::Metrics;
use crate::state::{now_ms, LeaseRecord, NonceRecord, Store, TokenRecord};

/// Domain of the signed message (bumped if its layout ever changes).
pub const AUTH_DOMAIN: &str = "dgcm-worker-auth/v1";

/// The bytes a renter signs for `nonce` (UTF-8).
pub fn auth_message(lease_id: &str, nonce: &str, provider_pk: &str) -> String {
    format!("{AUTH_DOMAIN}\nlease:{lease_id}\nnonce:{nonce}\nprovider:{provider_pk}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token (Authorization: Bearer <token>)")]
    MissingToken,
    #[error("unknown token")]
    UnknownToken,
    #[error("token expired at {0} ms")]
    TokenExpired(u64),
    #[error("token is scoped to lease {token_lease}, not {requested}")]
    WrongLease {
        token_lease: String,
        requested: String,
    },
    #[error("nonce unknown (never issued, or forgotten)")]
    UnknownNonce,
    #[error("nonce already used (each nonce is good for one token request)")]
    NonceReplayed,
    #[error("nonce expired")]
    NonceExpired,
    #[error("nonce was issued for lease {0}")]
    NonceForOtherLease(String),
    #[error("signature does not verify against the lease's consumer key")]
    BadSignature,
    #[error("{field}: {reason}")]
    BadRequest { field: &'static str, reason: String },
    #[error("lease deadline passed")]
    LeaseOver,
    #[error("{0}")]
    Internal(String),
}

impl AuthError {
    /// HTTP status: 401 for credentials that are missing, wrong or stale; 403 for valid
    /// credentials used out of their scope; 400 for malformed requests.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::WrongLease { .. } | AuthError::NonceForOtherLease(_) => 403,
            AuthError::BadRequest { .. } => 400,
            AuthError::Internal(_) => 500,
            _ => 401,
        }
    }

    /// Machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::UnknownToken => "unknown_token",
            AuthError::TokenExpired(_) => "token_expired",
            AuthError::WrongLease { .. } => "wrong_lease",
            AuthError::UnknownNonce => "unknown_nonce",
            AuthError::NonceReplayed => "nonce_replayed",
            AuthError::NonceExpired => "nonce_expired",
            AuthError::NonceForOtherLease(_) => "nonce_other_lease",
            AuthError::BadSignature => "bad_signature",
            AuthError::BadRequest { .. } => "bad_request",
            AuthError::LeaseOver => "lease_over",
            AuthError::Internal(_) => "internal",
        }
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Tokens are stored by hash only.
pub fn token_key(token: &str) -> String {
    hex::encode(dgcm_contracts::util::blake2b256(token.as_bytes()))
}

pub struct Auth {
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    pub token_ttl: Duration,
    pub nonce_ttl: Duration,
    /// Hex of the provider's key (part of the signed message).
    pub provider_pk: String,
}

impl Auth {
    fn refuse<T>(&self, e: AuthError) -> Result<T, AuthError> {
        self.metrics.refused(e.reason());
        Err(e)
    }

    /// Records the (checked) lease and issues a nonce: `(nonce, message, expires_ms)`.
    pub fn challenge(&self, lease: LeaseRecord) -> Result<(String, String, u64), AuthError> {
        let nonce = random_hex();
        let expires_ms = now_ms() + self.nonce_ttl.as_millis() as u64;
        let lease_id = lease.lease_id.clone();
        self.store
            .update(|s| {
                s.leases.insert(lease_id.clone(), lease);
                s.nonces.insert(
                    nonce.clone(),
                    NonceRecord {
                        lease_id: lease_id.clone(),
                        expires_ms,
                        used: false,
                    },
                );
            })
            .map_err(|e| AuthError::Internal(format!("state: {e:#}")))?;
        let msg = auth_message(&lease_id, &nonce, &self.provider_pk);
        Ok((nonce, msg, expires_ms))
    }

    /// Spends the nonce and, when the signature is the lease consumer's, issues a token:
    /// `(token, expires_ms)`.
    pub fn token(
        &self,
        lease_id: &str,
        nonce: &str,
        signature_hex: &str,
    ) -> Result<(String, u64), AuthError> {
        let sig = match hex::decode(signature_hex.trim()) {
            Ok(s) if !s.is_empty() && s.len() <= 1024 => s,
            _ => {
                return self.refuse(AuthError::BadRequest {
                    field: "signature",
                    reason: "not a hex signature".into(),
                })
            }
        };
        let now = now_ms();
        // Spend the nonce first, whatever comes next.
        let found = self
            .store
            .update(|s| {
                let n = s.nonces.get_mut(nonce)?;
                let before = n.clone();
                n.used = true;
                let lease = s.leases.get(&before.lease_id).cloned();
                Some((before, lease))
            })
            .map_err(|e| AuthError::Internal(format!("state: {e:#}")))?;
        let Some((n, lease)) = found else {
            return self.refuse(AuthError::UnknownNonce);
        };
        if n.used {
            return self.refuse(AuthError::NonceReplayed);
        }
        if n.expires_ms <= now {
            return self.refuse(AuthError::NonceExpired);
        }
        if n.lease_id != lease_id {
            return self.refuse(AuthError::NonceForOtherLease(n.lease_id));
        }
        let Some(lease) = lease else {
            return self.refuse(AuthError::UnknownNonce);
        };
        if lease.access_end_ms() <= now {
            return self.refuse(AuthError::LeaseOver);
        }
        let Some(consumer) = pk_from_hex(&lease.consumer_pk) else {
            return self.refuse(AuthError::Internal("stored consumer key unreadable".into()));
        };
        let msg = auth_message(lease_id, nonce, &self.provider_pk);
        if !dgcm_chain::wallet::verify_message(&consumer, msg.as_bytes(), &sig) {
            return self.refuse(AuthError::BadSignature);
        }
        let token = random_hex();
        let expires_ms = (now + self.token_ttl.as_millis() as u64).min(lease.access_end_ms());
        self.store
            .update(|s| {
                s.tokens.insert(
                    token_key(&token),
                    TokenRecord {
                        lease_id: lease_id.to_string(),
                        expires_ms,
                        issued_ms: now,
                    },
                );
            })
            .map_err(|e| AuthError::Internal(format!("state: {e:#}")))?;
        self.metrics.tokens_issued.inc();
        Ok((token, expires_ms))
    }

    /// Checks a bearer token for `lease_id`. `height` is the last chain height seen (0 when
    /// unknown): past the lease's deadline height the token is refused whatever its clock says.
    pub fn check(
        &self,
        bearer: Option<&str>,
        lease_id: &str,
        height: u32,
    ) -> Result<TokenRecord, AuthError> {
        let Some(token) = bearer.filter(|t| !t.is_empty()) else {
            return self.refuse(AuthError::MissingToken);
        };
        let key = token_key(token);
        let (rec, deadline) = self.store.read(|s| {
            let rec = s.tokens.get(&key).cloned();
            let deadline = rec
                .as_ref()
                .and_then(|r| s.leases.get(&r.lease_id))
                .map(|l| l.access_end_height());
            (rec, deadline)
        });
        let Some(rec) = rec else {
            return self.refuse(AuthError::UnknownToken);
        };
        if rec.expires_ms <= now_ms() {
            return self.refuse(AuthError::TokenExpired(rec.expires_ms));
        }
        if height > 0 && deadline.is_some_and(|d| height as i64 > d) {
            return self.refuse(AuthError::TokenExpired(rec.expires_ms));
        }
        if rec.lease_id != lease_id {
            return self.refuse(AuthError::WrongLease {
                token_lease: rec.lease_id.clone(),
                requested: lease_id.to_string(),
            });
        }
        Ok(rec)
    }
}
