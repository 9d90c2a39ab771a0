//! A tiny HTTP forward proxy for tests: answers CONNECT by tunnelling and
//! absolute-form requests by forwarding, recording each request line it saw.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct FwdProxy {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl FwdProxy {
    pub fn start() -> FwdProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, s);
                });
            }
        });
        FwdProxy { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

fn serve(client: TcpStream, seen: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let request_line = request_line.trim_end().to_string();
    let auth = head
        .iter()
        .find(|l| l.to_ascii_lowercase().starts_with("proxy-authorization"))
        .map(|l| format!(" [{}]", l.trim_end()))
        .unwrap_or_default();
    seen.lock()
        .expect("lock")
        .push(format!("{request_line}{auth}"));
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("").to_string();
    let mut client_w = client;
    if method == "CONNECT" {
        // Tunnel only to loopback; anything else is refused unconnected (tests never
        // leave the machine).
        let host = target.rsplit_once(':').map(|(h, _)| h).unwrap_or("");
        let upstream = match host {
            "127.0.0.1" | "localhost" => TcpStream::connect(&target).ok(),
            _ => None,
        };
        let Some(upstream) = upstream else {
            client_w.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")?;
            return Ok(());
        };
        client_w.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
        pipe(reader, client_w, upstream)
    } else {
        // Absolute form: http://host:port/path
        let rest = target.strip_prefix("http://").unwrap_or(&target);
        let (hostport, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if !(hostport.starts_with("127.0.0.1:") || hostport.starts_with("localhost:")) {
            client_w.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")?;
            return Ok(());
        }
        let mut upstream = TcpStream::connect(hostport)?;
        let mut out = format!("{method} {path} HTTP/1.1\r\n");
        for h in &head {
            if !h.to_ascii_lowercase().starts_with("proxy-") {
                out.push_str(h);
            }
        }
        out.push_str("\r\n");
        upstream.write_all(out.as_bytes())?;
        pipe(reader, client_w, upstream)
    }
}

fn pipe(
    mut client_r: BufReader<TcpStream>,
    mut client_w: TcpStream,
    upstream: TcpStream,
) -> std::io::Result<()> {
    let mut up_r = upstream.try_clone()?;
    let mut up_w = upstream;
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = up_r.read(&mut buf) {
            if n == 0 || client_w.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = client_w.shutdown(std::net::Shutdown::Both);
    });
    let mut buf = [0u8; 8192];
    // Bytes the reader already buffered go first.
    let pending = client_r.buffer().to_vec();
    up_w.write_all(&pending)?;
    client_r.consume(pending.len());
    while let Ok(n) = client_r.read(&mut buf) {
        if n == 0 || up_w.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = up_w.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
    Ok(())
}
