//! Authentication: API keys, signed expiring tokens, the caller of a request, and the
//! authentication policies (`auth_policy`) that check passwords.
//!
//! A token is `base64url(claims).base64url(HMAC-SHA256(secret, claims))`. Claims carry the login,
//! the expiry and the user's key version: renewing the API key bumps the version, so every token
//! issued before stops working.
//!
//! Policies ([`AuthPolicy`]) say who a login is ([`DirectoryUser`]: uid, gid, groups, home,
//! email) and check its password: `local` (our database, argon2), `system` (the host's accounts
//! through NSS, passwords through PAM), `ldap`/`goauth` (a directory, TLS on every connection)
//! and `fake` (tests). API keys are always ours (stored SHA-256, shown once). Failed logins are
//! rate limited per login and per client address ([`LoginLimiter`]).

pub mod fake;
pub mod guest;
pub mod ldap;
pub mod limiter;
pub mod local;
mod nss;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod system;

pub use limiter::LoginLimiter;
pub use policy::{AuthError, AuthPolicy, DirectoryUser};

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use god_core::config::{AuthPolicyName, Config};
use god_core::ConfigError;
use god_store::{Store, UserRecord};
use hmac::{Hmac, Mac};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

type HmacSha256 = Hmac<Sha256>;

/// What the API needs to log people in: the configured policy and the failure rate limiter.
pub struct Auth {
    pub policy: Arc<dyn AuthPolicy>,
    pub limiter: LoginLimiter,
    /// The OpenID Connect provider of guests, when `guest_allow`.
    pub oidc: Option<oidc::OidcLogin>,
}

impl Auth {
    /// Build the policy named by `auth_policy`. Refuses `fake` unless `allow_fake_auth`, an
    /// unknown policy, and an LDAP configuration that cannot work (e.g. an unreadable `ca_cert`).
    pub fn from_config(config: &Config, store: Arc<dyn Store>) -> Result<Auth, ConfigError> {
        Ok(Auth {
            policy: policy_from_config(config, store)?,
            limiter: LoginLimiter::new(&config.login_rate_limit),
            oidc: oidc::OidcLogin::from_config(config)?,
        })
    }
}

/// The policy named by `auth_policy`.
fn policy_from_config(
    config: &Config,
    store: Arc<dyn Store>,
) -> Result<Arc<dyn AuthPolicy>, ConfigError> {
    match config.auth_policy {
        AuthPolicyName::Local => Ok(Arc::new(local::LocalPolicy::new(store))),
        AuthPolicyName::System => Ok(Arc::new(system::SystemPolicy::new(
            store,
            &config.pam_service,
        ))),
        AuthPolicyName::Ldap => Ok(Arc::new(ldap::LdapPolicy::from_config(config, store)?)),
        AuthPolicyName::Fake if config.allow_fake_auth => {
            Ok(Arc::new(fake::FakePolicy::new(store)))
        }
        AuthPolicyName::Fake => Err(ConfigError::new(
            "auth_policy",
            "fake authentication accepts any password: also set allow_fake_auth: true (tests only)",
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: f64,
    pub kv: i64,
}

/// A new API key: 40 random alphanumeric characters.
pub fn new_apikey() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}

/// A random secret for signing tokens.
pub fn new_secret() -> String {
    new_apikey() + &new_apikey()
}

/// How API keys are stored: hex SHA-256 (keys are long and random, so no slow hash is needed).
pub fn hash_apikey(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Constant-time comparison of two hashes.
pub fn same_hash(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn mac(secret: &[u8]) -> Result<HmacSha256, ApiError> {
    HmacSha256::new_from_slice(secret).map_err(|_| ApiError::unavailable("token secret unusable"))
}

pub fn issue_token(secret: &[u8], claims: &Claims) -> Result<String, ApiError> {
    let payload =
        serde_json::to_vec(claims).map_err(|e| ApiError::unavailable(format!("token: {e}")))?;
    let body = URL_SAFE_NO_PAD.encode(payload);
    let mut m = mac(secret)?;
    m.update(body.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    Ok(format!("{body}.{sig}"))
}

/// Check signature and expiry; the key version is checked by the caller against the user.
pub fn verify_token(secret: &[u8], token: &str, now: f64) -> Result<Claims, ApiError> {
    let bad = || ApiError::unauthorized("invalid token: log in again");
    let (body, sig) = token.split_once('.').ok_or_else(bad)?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| bad())?;
    let mut m = mac(secret)?;
    m.update(body.as_bytes());
    m.verify_slice(&sig).map_err(|_| bad())?;
    let payload = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| bad())?;
    if claims.exp <= now {
        return Err(ApiError::unauthorized("token expired: log in again"));
    }
    Ok(claims)
}

/// The record of a new account for `who`, holding `apikey` (stored hashed); priority, quotas
/// and flags at their defaults.
pub fn new_record(who: &DirectoryUser, apikey: &str) -> UserRecord {
    UserRecord {
        login: who.login.clone(),
        uid: who.uid,
        gid: who.gid,
        sgids: who.sgids.clone(),
        home: who.home.clone(),
        email: who.email.clone(),
        apikey_hash: hash_apikey(apikey),
        key_version: 1,
        created: crate::clock::now(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_expire() {
        let claims = Claims {
            sub: "alice".into(),
            exp: 100.0,
            kv: 1,
        };
        let t = issue_token(b"secret", &claims).unwrap();
        assert_eq!(verify_token(b"secret", &t, 50.0).unwrap(), claims);
        assert!(verify_token(b"secret", &t, 100.0).is_err(), "expired");
        assert!(verify_token(b"other", &t, 50.0).is_err(), "wrong secret");
        let mut forged = t.clone();
        forged.replace_range(0..1, if t.starts_with('e') { "f" } else { "e" });
        assert!(verify_token(b"secret", &forged, 50.0).is_err(), "tampered");
        assert!(verify_token(b"secret", "garbage", 50.0).is_err());
    }

    #[test]
    fn apikeys_are_long_and_hashed() {
        let k = new_apikey();
        assert_eq!(k.len(), 40);
        assert!(same_hash(&hash_apikey(&k), &hash_apikey(&k)));
        assert!(!same_hash(&hash_apikey(&k), &hash_apikey("x")));
    }
}
