//! Local passwords: argon2id hashes in PHC strings (`$argon2id$v=19$...`), the length rule, and
//! the rules `POST /api/1.0/user/<login>/password` applies.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (characters).
pub const MAX_LEN: usize = 1024;

/// Does `password` follow the rules? `Err` says why, for the user.
pub fn check_rules(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!(
            "password too short: at least {MIN_LEN} characters, got {n}"
        ));
    }
    if n > MAX_LEN {
        return Err(format!("password too long: at most {MAX_LEN} characters"));
    }
    if password.contains('\0') {
        return Err("password must not contain NUL characters".into());
    }
    Ok(())
}

/// Hash with argon2id (default parameters: 19 MiB, 2 passes) and a random salt. CPU-heavy:
/// call from a blocking thread.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
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
pub async fn hash_blocking(password: &str) -> Result<String, String> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash(&pw))
        .await
        .map_err(|e| format!("hashing the password: {e}"))?
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
    fn length_rules() {
        assert!(check_rules("1234567").is_err());
        assert!(check_rules("12345678").is_ok());
        assert!(check_rules("ééééééé").is_err(), "characters, not bytes");
        assert!(check_rules(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(check_rules("abcdefgh\0").is_err());
    }
}
