//! Credentials: generated with the OS random source, shown to their owner once, and stored only
//! as a SHA-256 hash. The tokens are 256-bit random strings, so a fast hash is enough: nothing
//! can be guessed, and a leaked database does not leak a usable credential.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A credential in plain text. Its `Debug` and `Display` never show the value, so a token that
/// ends up in a log line or a panic message stays secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential the caller already has (from a request or a configuration value).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// A fresh credential: `prefix` followed by 32 random bytes in lower-case hex.
    pub fn generate(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Secret(format!("{prefix}{}", hex::encode(bytes)))
    }

    /// A fresh credential shaped like a UUID (8-4-4-4-12 hex digits), as HubSpot's developer
    /// API keys, client ids and client secrets are.
    pub fn generate_uuid_shaped() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let h = hex::encode(bytes);
        Secret(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    }

    /// The plain value, for the one place that must show or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the store keeps this credential.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The SHA-256 of a credential, in lower-case hex: what the store keeps and looks up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a credential.
    pub fn of(value: &str) -> Self {
        TokenHash(hex::encode(Sha256::digest(value.as_bytes())))
    }

    /// A hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        TokenHash(hex)
    }

    /// The hex text stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("pat-na1-very-secret");
        assert!(!format!("{s:?}").contains("very-secret"));
        assert!(!format!("{s}").contains("very-secret"));
        assert_eq!(s.expose(), "pat-na1-very-secret");
    }

    #[test]
    fn generated_secrets_differ_and_carry_their_prefix() {
        let a = Secret::generate("chr-at-");
        let b = Secret::generate("chr-at-");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("chr-at-"));
        assert_eq!(a.expose().len(), "chr-at-".len() + 64);
    }

    #[test]
    fn uuid_shaped_secret_has_uuid_layout() {
        let s = Secret::generate_uuid_shaped();
        let parts: Vec<usize> = s.expose().split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
    }

    #[test]
    fn hash_is_stable_sha256_hex() {
        assert_eq!(
            TokenHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Secret::new("abc").hash(), TokenHash::of("abc"));
    }
}
