//! Guests' logins through an OpenID Connect provider: the authorization code flow with PKCE
//! (S256) and a nonce, as a confidential client (`openidconnect` crate).
//!
//! `start` remembers the login it began (state → nonce and PKCE verifier, in memory: a login
//! that spans a restart of the server starts again) and gives the provider's URL; `finish`
//! takes the code the provider sent back, exchanges it, verifies the ID token (signature,
//! issuer, audience, expiry, nonce) and says who the person is. It never creates accounts:
//! that is [`super::guest`]'s job.

use super::policy::AuthError;
use god_core::config::{Config, GuestSettings};
use god_core::ConfigError;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::reqwest;
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a person may spend on the provider's pages.
const LOGIN_TTL: Duration = Duration::from_secs(600);
/// Logins begun and not finished that we keep at most (older ones are dropped first).
const MAX_PENDING: usize = 10_000;
/// Provider metadata (endpoints, keys) is discovered again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// Who the provider says a guest is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestIdentity {
    /// `<issuer> <sub>`: stable for one person at one provider.
    pub subject: String,
    /// `preferred_username`, else `sub`.
    pub username: String,
    pub email: Option<String>,
}

/// Why a login through the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Unknown or expired `state`: the person took too long, or the request is forged.
    #[error("this login is unknown or expired: start again")]
    UnknownLogin,
    /// The provider refused, or its answer did not verify (bad signature, wrong nonce...).
    #[error("the identity provider's answer was refused: {0}")]
    Refused(String),
    /// The provider could not be reached or misbehaved.
    #[error(transparent)]
    Unavailable(#[from] AuthError),
}

struct Pending {
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    started: Instant,
}

/// The configured provider and the logins in progress.
pub struct OidcLogin {
    /// Guests' settings: who they run as, their homes, the provider.
    pub guests: GuestSettings,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl OidcLogin {
    /// The provider of `oidc`, when `guest_allow` is on.
    pub fn from_config(config: &Config) -> Result<Option<OidcLogin>, ConfigError> {
        match config.guest_settings()? {
            Some(guests) => Ok(Some(OidcLogin::new(guests)?)),
            None => Ok(None),
        }
    }

    fn new(guests: GuestSettings) -> Result<OidcLogin, ConfigError> {
        let o = &guests.oidc;
        let issuer = IssuerUrl::new(o.issuer.clone())
            .map_err(|e| ConfigError::new("oidc.issuer", e.to_string()))?;
        let redirect = RedirectUrl::new(o.redirect_url.clone())
            .map_err(|e| ConfigError::new("oidc.redirect_url", e.to_string()))?;
        let http = reqwest::Client::builder()
            // The provider's answers are never followed: a redirect here would be an attack.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs_f64(o.timeout_secs))
            .build()
            .map_err(|e| ConfigError::new("oidc", format!("HTTP client: {e}")))?;
        Ok(OidcLogin {
            issuer,
            client_id: ClientId::new(o.client_id.clone()),
            client_secret: o.client_secret.clone().map(ClientSecret::new),
            redirect,
            http,
            metadata: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            guests,
        })
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, AuthError> {
        let mut cached = self.metadata.lock().await;
        if let Some((m, at)) = cached.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let m = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                AuthError::Unavailable(format!(
                    "identity provider {}: discovery failed: {}",
                    self.issuer.as_str(),
                    chain(&e)
                ))
            })?;
        *cached = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    /// Begin a login: the provider's URL to send the person to, and the login's `state` (the
    /// browser keeps it in a cookie, so a callback is only accepted from the browser that began
    /// the login).
    pub async fn start(&self) -> Result<(String, String), AuthError> {
        let client = CoreClient::from_provider_metadata(
            self.metadata().await?,
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| AuthError::Unavailable("login table poisoned".into()))?;
        pending.retain(|_, p| p.started.elapsed() < LOGIN_TTL);
        if pending.len() >= MAX_PENDING {
            if let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| k.clone())
            {
                pending.remove(&oldest);
            }
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                nonce,
                verifier,
                started: Instant::now(),
            },
        );
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Finish a login with what the provider sent back to `redirect_url`.
    pub async fn finish(&self, code: &str, state: &str) -> Result<GuestIdentity, OidcError> {
        let pending = self
            .pending
            .lock()
            .map_err(|_| AuthError::Unavailable("login table poisoned".into()))?
            .remove(state)
            .filter(|p| p.started.elapsed() < LOGIN_TTL)
            .ok_or(OidcError::UnknownLogin)?;
        let client = CoreClient::from_provider_metadata(
            self.metadata().await?,
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone());
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| AuthError::Unavailable(format!("identity provider: {e}")))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    OidcError::Refused(format!("token endpoint: {r}"))
                }
                other => OidcError::Unavailable(AuthError::Unavailable(format!(
                    "identity provider token endpoint: {}",
                    chain(&other)
                ))),
            })?;
        let id_token = openidconnect::TokenResponse::id_token(&tokens)
            .ok_or_else(|| OidcError::Refused("no ID token in the answer".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|e| OidcError::Refused(format!("ID token: {}", chain(&e))))?;
        let sub = claims.subject().as_str().to_string();
        let username = claims
            .preferred_username()
            .map(|u| u.as_str().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| sub.clone());
        // Only an address the provider verified is taken.
        let email = claims
            .email()
            .filter(|_| claims.email_verified().unwrap_or(false))
            .map(|e| e.as_str().to_string());
        Ok(GuestIdentity {
            subject: format!("{} {}", self.issuer.as_str(), sub),
            username,
            email,
        })
    }
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}
