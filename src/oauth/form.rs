//! Small encodings the OAuth flows need: form-urlencoded bodies, percent-decoding of
//! query strings (a callback's or a pasted URL's), and base64url.

/// `[("a", "1"), ("b", "x y")]` → `a=1&b=x%20y` (unreserved characters kept as is).
pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a=1&b=x%20y` → `[("a", "1"), ("b", "x y")]`.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k.as_bytes()), percent_decode(v.as_bytes()))
        })
        .collect()
}

/// Decode `%XX` and `+` (form and query encoding).
pub fn percent_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = s
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (s[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Base64url without padding.
pub fn base64url(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let body = encode(&[
            ("redirect_uri", "http://localhost:1455/auth/callback"),
            ("x", "a+b c"),
        ]);
        assert_eq!(
            body,
            "redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback&x=a%2Bb%20c"
        );
        let pairs = query_pairs(&body);
        assert_eq!(pairs[0].1, "http://localhost:1455/auth/callback");
        assert_eq!(pairs[1].1, "a+b c");
        assert_eq!(
            percent_decode(b"x=1+2&bad=%zz&end=%4"),
            "x=1 2&bad=%zz&end=%4"
        );
        assert_eq!(base64url(b"foob"), "Zm9vYg");
    }
}
