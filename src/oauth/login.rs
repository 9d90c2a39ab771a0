//! The terminal side of a subscription login.
//!
//! Callback mode: listen on `http://localhost:<port>/callback`, print the authorize
//! URL (and open a browser unless told not to), and take the code from the redirect.
//! Paste mode: the redirect goes to Anthropic's page that shows `code#state`; the
//! user pastes it (prompted on a terminal; one line from stdin otherwise, so scripts
//! can feed it). Either way the state is checked before any exchange.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::Endpoints;
use super::client::{self, Authorization, OAuthError, percent_decode};
use crate::config::OAuthTokens;
use crate::upstream::UpstreamClient;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Callback,
    Paste,
}

pub struct LoginOptions {
    pub mode: Mode,
    pub open_browser: bool,
    /// Port for the callback listener; 0 picks a free one.
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
    #[error("no login arrived within {0}s")]
    TimedOut(u64),
}

/// Run a login to the end and return the tokens.
pub fn login(
    http: &UpstreamClient,
    endpoints: &Endpoints,
    rt: &tokio::runtime::Runtime,
    opts: &LoginOptions,
) -> Result<OAuthTokens, LoginError> {
    match opts.mode {
        Mode::Paste => {
            let auth = client::authorize(endpoints, &endpoints.manual_redirect)?;
            announce(&auth, opts.open_browser);
            let pasted = read_pasted()?;
            let (code, state) = split_pasted(&pasted)?;
            Ok(rt.block_on(client::exchange(
                http,
                endpoints,
                auth,
                &code,
                state.as_deref(),
            ))?)
        }
        Mode::Callback => {
            let listener = TcpListener::bind(("127.0.0.1", opts.callback_port)).map_err(|e| {
                LoginError::Input(format!("cannot listen for the login callback: {e}"))
            })?;
            let port = listener
                .local_addr()
                .map_err(|e| LoginError::Input(e.to_string()))?
                .port();
            let auth = client::authorize(endpoints, &format!("http://localhost:{port}/callback"))?;
            announce(&auth, opts.open_browser);
            let (code, state) = wait_for_callback(&listener, &auth.state, opts.timeout)?;
            Ok(rt.block_on(client::exchange(http, endpoints, auth, &code, Some(&state)))?)
        }
    }
}

fn announce(auth: &Authorization, open_browser: bool) {
    eprintln!(
        "Open this URL in a browser and log in with your Claude account:\n\n{}\n",
        auth.url
    );
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

fn read_pasted() -> Result<String, LoginError> {
    let line = if io::stdin().is_terminal() {
        dialoguer::Input::<String>::new()
            .with_prompt("Paste the code shown after login (code#state)")
            .interact_text()
            .map_err(|e| LoginError::Input(format!("could not read the code: {e}")))?
    } else {
        eprintln!("Waiting for the code (code#state) on stdin…");
        let mut line = String::new();
        io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| LoginError::Input(format!("could not read the code: {e}")))?;
        line
    };
    Ok(line.trim().to_string())
}

/// `code#state` → (code, Some(state)); a bare code → (code, None).
pub fn split_pasted(s: &str) -> Result<(String, Option<String>), LoginError> {
    let s = s.trim();
    let (code, state) = match s.split_once('#') {
        Some((c, st)) => (c.trim(), Some(st.trim().to_string())),
        None => (s, None),
    };
    if code.is_empty() {
        return Err(LoginError::Input("no code was pasted".into()));
    }
    Ok((code.to_string(), state.filter(|s| !s.is_empty())))
}

/// Accept connections until one brings `/callback?code=...&state=...`.
fn wait_for_callback(
    listener: &TcpListener,
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
        let Some(query) = target.strip_prefix("/callback?") else {
            let _ = respond(&mut stream, 404, "Not the login callback.");
            continue;
        };
        let (mut code, mut state, mut error) = (None, None, None);
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v.as_bytes());
            match k {
                "code" => code = Some(v),
                "state" => state = Some(v),
                "error" => error = Some(v),
                _ => {}
            }
        }
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
    }
}
