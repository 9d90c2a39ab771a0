//! The terminal side of a subscription login, for any provider.
//!
//! Callback mode: listen on `http://localhost:<port><path>` (the provider decides the
//! path, and for ChatGPT the port: its client only accepts `localhost:1455`), print
//! the authorize URL (and open a browser unless told not to), and take the code from
//! the redirect. Paste mode: the user pastes what the login ends with — Anthropic's
//! page shows `code#state`; ChatGPT sends the browser to the local redirect, whose
//! URL the user copies from the address bar (prompted on a terminal; one line from
//! stdin otherwise, so scripts can feed it). Either way the state is checked before
//! any exchange.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::client::{self, Authorization, OAuthError};
use super::form::query_pairs;
use super::provider::ProviderEndpoints;
use crate::config::{OAuthTokens, Provider};
use crate::upstream::UpstreamClient;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Callback,
    Paste,
}

pub struct LoginOptions {
    pub mode: Mode,
    pub open_browser: bool,
    /// Port for the callback listener; 0 = the provider's choice (any free port, or
    /// the one port its client accepts).
    pub callback_port: u16,
    /// How long to wait for the user.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error("{0}")]
    Input(String),
    #[error(
        "port {0} is taken (is another login running, e.g. `codex login`?), so the login \
         callback cannot be received there; close it, or use --paste and paste the URL \
         your browser ends on"
    )]
    PortInUse(u16),
    #[error("no login arrived within {0}s")]
    TimedOut(u64),
}

/// Run a login to the end and return the tokens.
pub fn login(
    http: &UpstreamClient,
    p: &ProviderEndpoints,
    rt: &tokio::runtime::Runtime,
    opts: &LoginOptions,
) -> Result<OAuthTokens, LoginError> {
    let port = if opts.callback_port != 0 {
        opts.callback_port
    } else {
        p.callback_port
    };
    match opts.mode {
        Mode::Paste => {
            let redirect = p
                .manual_redirect
                .clone()
                .unwrap_or_else(|| p.callback_redirect(port));
            let auth = client::authorize(p, &redirect)?;
            announce(p, &auth, opts.open_browser, Mode::Paste);
            let pasted = read_pasted(p)?;
            let (code, state) = split_pasted(&pasted)?;
            Ok(rt.block_on(client::exchange(http, p, auth, &code, state.as_deref()))?)
        }
        Mode::Callback => {
            let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
                if e.kind() == io::ErrorKind::AddrInUse {
                    LoginError::PortInUse(port)
                } else {
                    LoginError::Input(format!("cannot listen for the login callback: {e}"))
                }
            })?;
            let port = listener
                .local_addr()
                .map_err(|e| LoginError::Input(e.to_string()))?
                .port();
            let auth = client::authorize(p, &p.callback_redirect(port))?;
            announce(p, &auth, opts.open_browser, Mode::Callback);
            let (code, state) =
                wait_for_callback(&listener, p.callback_path, &auth.state, opts.timeout)?;
            Ok(rt.block_on(client::exchange(http, p, auth, &code, Some(&state)))?)
        }
    }
}

fn announce(p: &ProviderEndpoints, auth: &Authorization, open_browser: bool, mode: Mode) {
    eprintln!(
        "Open this URL in a browser and log in with your {} account:\n\n{}\n",
        p.account_label, auth.url
    );
    if mode == Mode::Paste && p.manual_redirect.is_none() {
        eprintln!(
            "After the login the browser is sent to {} (the page may not load); copy that \
             whole URL from the address bar.",
            auth.redirect_uri
        );
    }
    if open_browser {
        for opener in ["xdg-open", "open"] {
            let spawned = std::process::Command::new(opener)
                .arg(&auth.url)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            if spawned.is_ok() {
                break;
            }
        }
    }
}

fn read_pasted(p: &ProviderEndpoints) -> Result<String, LoginError> {
    let what = match p.provider {
        Provider::Anthropic => "the code shown after login (code#state)",
        Provider::Openai | Provider::Gemini => "the URL your browser was sent to (or its code)",
    };
    let line = if io::stdin().is_terminal() {
        dialoguer::Input::<String>::new()
            .with_prompt(format!("Paste {what}"))
            .interact_text()
            .map_err(|e| LoginError::Input(format!("could not read the code: {e}")))?
    } else {
        eprintln!("Waiting for {what} on stdin…");
        let mut line = String::new();
        io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| LoginError::Input(format!("could not read the code: {e}")))?;
        line
    };
    Ok(line.trim().to_string())
}

/// What a user pastes → (code, state if it came with one):
/// - a redirected URL or query string, `...?code=C&state=S` (the state checked);
/// - `code#state` (Anthropic's page);
/// - a bare code.
pub fn split_pasted(s: &str) -> Result<(String, Option<String>), LoginError> {
    let s = s.trim();
    if s.contains("code=") {
        let query = s.split_once('?').map_or(s, |(_, q)| q);
        let query = query.split('#').next().unwrap_or("");
        let (code, state, error) = callback_params(query);
        if let Some(e) = error {
            return Err(LoginError::Input(format!(
                "the authorization server said: {e}"
            )));
        }
        return match code.filter(|c| !c.is_empty()) {
            Some(c) => Ok((c, state.filter(|s| !s.is_empty()))),
            None => Err(LoginError::Input("the pasted URL has no code".into())),
        };
    }
    let (code, state) = match s.split_once('#') {
        Some((c, st)) => (c.trim(), Some(st.trim().to_string())),
        None => (s, None),
    };
    if code.is_empty() {
        return Err(LoginError::Input("no code was pasted".into()));
    }
    Ok((code.to_string(), state.filter(|s| !s.is_empty())))
}

/// The `code`, `state` and `error` of a callback's query string.
fn callback_params(query: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (mut code, mut state, mut error) = (None, None, None);
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "code" => code = Some(v),
            "state" => state = Some(v),
            "error" => error = Some(v),
            _ => {}
        }
    }
    (code, state, error)
}

/// Accept connections until one brings `<path>?code=...&state=...`.
fn wait_for_callback(
    listener: &TcpListener,
    path: &str,
    expected_state: &str,
    timeout: Duration,
) -> Result<(String, String), LoginError> {
    listener
        .set_nonblocking(true)
        .map_err(|e| LoginError::Input(e.to_string()))?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let (mut stream, _) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(LoginError::Input(format!("callback listener failed: {e}"))),
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 8192];
        let n = stream.read(&mut buf).unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]);
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let Some(query) = target
            .strip_prefix(path)
            .and_then(|rest| rest.strip_prefix('?'))
        else {
            let _ = respond(&mut stream, 404, "Not the login callback.");
            continue;
        };
        let (code, state, error) = callback_params(query);
        if let Some(e) = error {
            let _ = respond(
                &mut stream,
                400,
                "The login was not completed. You can close this tab.",
            );
            return Err(LoginError::Input(format!(
                "the authorization server said: {e}"
            )));
        }
        match (code, state) {
            (Some(c), Some(s)) if s == expected_state => {
                let _ = respond(
                    &mut stream,
                    200,
                    "Logged in. You can close this tab and return to the terminal.",
                );
                return Ok((c, s));
            }
            (Some(_), _) => {
                let _ = respond(
                    &mut stream,
                    400,
                    "State mismatch: this login was not started here.",
                );
                return Err(OAuthError::StateMismatch.into());
            }
            _ => {
                let _ = respond(&mut stream, 400, "Missing code.");
            }
        }
    }
    Err(LoginError::TimedOut(timeout.as_secs()))
}

fn respond(stream: &mut std::net::TcpStream, status: u16, text: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!("<!doctype html><title>llm-gateway</title><p>{text}</p>\n");
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_codes() {
        assert_eq!(
            split_pasted(" abc#xyz \n").unwrap(),
            ("abc".into(), Some("xyz".into()))
        );
        assert_eq!(split_pasted("abc").unwrap(), ("abc".into(), None));
        assert!(split_pasted("#xyz").is_err());
        assert_eq!(
            split_pasted("http://localhost:1455/auth/callback?code=c%2B1&scope=x&state=s1\n")
                .unwrap(),
            ("c+1".into(), Some("s1".into()))
        );
        assert_eq!(
            split_pasted("code=c1&state=s1").unwrap(),
            ("c1".into(), Some("s1".into()))
        );
        assert!(
            split_pasted("http://localhost:1455/auth/callback?error=access_denied&code=").is_err()
        );
        assert!(split_pasted("http://localhost:1455/auth/callback?state=s&code=").is_err());
    }
}
