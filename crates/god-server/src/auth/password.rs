//! Local passwords: argon2id hashes in PHC strings (`$argon2id$v=19$...`), the length rule, and
//! the rules `POST /api/1.0/user/<login>/password` applies.

use super::AuthError;
pub use crate::error::PasswordRule;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (characters).
pub const MAX_LEN: usize = 1024;

/// Does `password` follow the rules? `Err` says which it breaks.
pub fn check_rules(password: &str) -> Result<(), PasswordRule> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(PasswordRule::TooShort {
            min: MIN_LEN,
            got: n,
        });
    }
    if n > MAX_LEN {
        return Err(PasswordRule::TooLong { max: MAX_LEN });
    }
    if password.contains('\0') {
        return Err(PasswordRule::Nul);
    }
    Ok(())
}

/// Hash with argon2id (default parameters: 19 MiB, 2 passes) and a random salt. CPU-heavy:
/// call from a blocking thread.
pub fn hash(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// Check `password` against a PHC string; a malformed hash never matches. CPU-heavy.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash to verify against when the user has none, so that "no such user" and "wrong password"
/// take the same time.
pub fn dummy_verify(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(phc) = DUMMY.get_or_init(|| hash("not the password of anybody").ok()) {
        let _ = verify(password, phc);
    }
}

/// `hash` on a blocking thread.
pub async fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash(&pw))
        .await
        .map_err(|e| AuthError::Hashing(e.to_string()))?
}

/// `verify` on a blocking thread (`None` hash: the dummy, always false).
pub async fn verify_blocking(password: &str, phc: Option<String>) -> bool {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify(&pw, &phc),
        None => {
            dummy_verify(&pw);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn argon2id_hashes_verify_and_are_salted() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsf", &h));
        assert!(!verify("correct horse", "not a hash"));
        assert_ne!(h, hash("correct horse").unwrap(), "random salt");
    }

    #[test]
    fn rules_say_which_is_broken() {
        let long = "x".repeat(MAX_LEN + 1);
        let cases = [
            ("1234567", Err(PasswordRule::TooShort { min: 8, got: 7 })),
            ("12345678", Ok(())),
            ("ééééééé", Err(PasswordRule::TooShort { min: 8, got: 7 })),
            (long.as_str(), Err(PasswordRule::TooLong { max: MAX_LEN })),
            ("abcdefgh\0", Err(PasswordRule::Nul)),
        ];
        for (pw, want) in cases {
            assert_eq!(check_rules(pw), want, "{pw:?}");
        }
        assert_eq!(
            PasswordRule::TooShort { min: 8, got: 5 }.to_string(),
            "password too short: at least 8 characters, got 5"
        );
    }

    /// A broken rule is the user's to fix: 400 naming `password`, saying which rule. A hashing
    /// failure is the server's: 500, and nothing of it in the answer.
    #[test]
    fn password_errors_answer_by_kind() {
        use axum::http::StatusCode;
        let rule = ApiError::from(crate::ServerError::from(AuthError::PasswordRule(
            PasswordRule::TooShort { min: 8, got: 5 },
        )));
        assert_eq!(
            (rule.status, rule.field.as_deref(), rule.error.as_str()),
            (
                StatusCode::BAD_REQUEST,
                Some("password"),
                "password too short: at least 8 characters, got 5"
            )
        );
        let hashing = ApiError::from(crate::ServerError::from(AuthError::Hashing(
            "salt string too short at /src/argon2".into(),
        )));
        assert_eq!(hashing.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(hashing.field, None);
        assert!(
            !hashing.error.contains("salt") && !hashing.error.contains("argon2"),
            "{}",
            hashing.error
        );
    }
}
