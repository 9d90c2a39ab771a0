//! Gateway keys: generation from the OS RNG, SHA-256 storage, constant-time checks.
//!
//! A key looks like `lgw_` followed by 44 base-62 characters (≈ 262 bits of entropy).
//! Only its SHA-256 and the first characters are stored.

use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::util::hex;

pub const KEY_PREFIX: &str = "lgw_";
const KEY_CHARS: usize = 44;
/// How much of a key `list` shows.
pub const VISIBLE_PREFIX: usize = KEY_PREFIX.len() + 6;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh key from the operating system's RNG.
pub fn generate() -> Result<String, rand::rand_core::OsError> {
    let mut key = String::with_capacity(KEY_PREFIX.len() + KEY_CHARS);
    key.push_str(KEY_PREFIX);
    let mut buf = [0u8; 64];
    while key.len() < KEY_PREFIX.len() + KEY_CHARS {
        OsRng.try_fill_bytes(&mut buf)?;
        // Rejection sampling keeps every character uniform: 248 = 4 * 62.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if key.len() == KEY_PREFIX.len() + KEY_CHARS {
                break;
            }
            key.push(ALPHABET[(b % 62) as usize] as char);
        }
    }
    Ok(key)
}

/// Raw SHA-256 of a presented key.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Hex SHA-256, as stored in the config.
pub fn hash_hex(key: &str) -> String {
    hex(&digest(key))
}

/// Parse a stored hex digest. `None` when malformed (validation rejects those).
pub fn parse_hex_digest(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Compare two digests without an early exit, so timing reveals nothing.
pub fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// The visible part of a key for lists.
pub fn visible_prefix(key: &str) -> String {
    key.chars().take(VISIBLE_PREFIX).collect()
}

/// Redact a secret for display: the first few characters and its length.
pub fn redact(secret: &str) -> String {
    let shown: String = secret.chars().take(6).collect();
    if secret.chars().count() <= 10 {
        "****".into()
    } else {
        format!("{shown}…(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_unique_and_prefixed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + KEY_CHARS);
        assert!(
            a[KEY_PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric())
        );
        // 44 base-62 characters carry more than 256 bits.
        assert!((KEY_CHARS as f64) * 62f64.log2() >= 256.0);
    }

    #[test]
    fn hash_round_trip_and_compare() {
        let k = generate().unwrap();
        let stored = parse_hex_digest(&hash_hex(&k)).unwrap();
        assert!(ct_eq(&stored, &digest(&k)));
        assert!(!ct_eq(&stored, &digest("lgw_wrong")));
        assert!(parse_hex_digest("zz").is_none());
        assert!(parse_hex_digest(&"g".repeat(64)).is_none());
    }

    #[test]
    fn redaction_hides_the_secret() {
        let r = redact("sk-ant-api03-abcdefghijklmnop");
        assert!(!r.contains("abcdefghijklmnop"));
        assert_eq!(redact("short"), "****");
    }
}
