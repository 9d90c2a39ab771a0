//! Claims read out of OpenAI's tokens, without verifying them (the gateway is the
//! token's holder, not its audience): the ChatGPT account id the backend wants in
//! `chatgpt-account-id`, the plan, and the expiry. The tokens themselves are
//! secrets; nothing here logs them or any claim.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use crate::util::Timestamp;

/// The claim namespace OpenAI puts its ChatGPT details in.
pub const AUTH_CLAIM: &str = "https://api.openai.com/auth";

/// The decoded payload (middle part) of a JWT, if it is one.
pub fn payload(jwt: &str) -> Option<Value> {
    let mut parts = jwt.trim().split('.');
    let (_header, body, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if body.is_empty() {
        return None;
    }
    serde_json::from_slice(&base64url_decode(body)?).ok()
}

fn auth_claim(jwt: &str, name: &str) -> Option<String> {
    payload(jwt)?
        .get(AUTH_CLAIM)?
        .get(name)?
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// `https://api.openai.com/auth` → `chatgpt_account_id`.
pub fn chatgpt_account_id(jwt: &str) -> Option<String> {
    auth_claim(jwt, "chatgpt_account_id")
}

/// `https://api.openai.com/auth` → `chatgpt_plan_type` (`plus`, `pro`, ...).
pub fn chatgpt_plan_type(jwt: &str) -> Option<String> {
    auth_claim(jwt, "chatgpt_plan_type")
}

/// The standard `exp` claim.
pub fn expiry(jwt: &str) -> Option<Timestamp> {
    let exp = payload(jwt)?.get("exp")?.as_u64()?;
    Some(Timestamp(UNIX_EPOCH + Duration::from_secs(exp)))
}

/// Base64url (RFC 4648 §5), padding optional. `None` on any other character.
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(b: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn reads_the_chatgpt_claims() {
        let claims = serde_json::json!({
            "exp": 1_900_000_000u64,
            "email": "dev@example.com",
            AUTH_CLAIM: {"chatgpt_account_id": "acct-123", "chatgpt_plan_type": "pro"},
        });
        let jwt = format!(
            "{}.{}.sig",
            b64(b"{\"alg\":\"none\"}"),
            b64(claims.to_string().as_bytes())
        );
        assert_eq!(chatgpt_account_id(&jwt).as_deref(), Some("acct-123"));
        assert_eq!(chatgpt_plan_type(&jwt).as_deref(), Some("pro"));
        assert_eq!(expiry(&jwt).unwrap().unix_secs(), 1_900_000_000);
        assert!(chatgpt_account_id("not-a-jwt").is_none());
        assert!(chatgpt_account_id("a.!!!.c").is_none());
        assert!(payload("a..c").is_none());
    }

    #[test]
    fn decodes_every_length() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            assert_eq!(base64url_decode(&b64(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(base64url_decode("Zm9vYg==").unwrap(), b"foob");
    }
}
