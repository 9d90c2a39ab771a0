//! HTTPS serving: a CA and certificates made in the test (rcgen), the gateway started
//! with `--tls-cert` / `--tls-key`, clients that trust only that CA over HTTP/1.1 and
//! HTTP/2 (ALPN), `status` over HTTPS, the certificate rotated under a live stream,
//! bad certificate files refused at start, and the beyond-loopback rule.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::json;

use crate::common;

use common::mock::{Flavor, Mock};
use common::tls::{Leaf, TestCa};
use common::{Env, Server, eventually, runtime};

struct Tls {
    env: Env,
    ant: Mock,
    key: String,
    cert: std::path::PathBuf,
    key_file: std::path::PathBuf,
}

fn write_leaf(t: &Tls, leaf: &Leaf) {
    // Written beside and renamed into place, as certificate tools do.
    for (path, text) in [(&t.cert, &leaf.cert_pem), (&t.key_file, &leaf.key_pem)] {
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }
}

fn setup(ca: &TestCa) -> Tls {
    let env = Env::new();
    let ant = Mock::start(Flavor::Anthropic, "sk-ant-k");
    env.add_upstream("ant", &ant, &[]);
    let key = env.add_key("c", "read,write");
    let dir = env.config_path().parent().unwrap().to_path_buf();
    let t = Tls {
        cert: dir.join("gateway.crt"),
        key_file: dir.join("gateway.key"),
        env,
        ant,
        key,
    };
    write_leaf(&t, &ca.leaf());
    t
}

fn start(t: &Tls) -> Server {
    Server::start(
        &t.env,
        &[
            "--tls-cert",
            t.cert.to_str().unwrap(),
            "--tls-key",
            t.key_file.to_str().unwrap(),
        ],
    )
}

fn messages(stream: bool) -> Bytes {
    Bytes::from(
        json!({"model": "claude-sonnet-4-5", "max_tokens": 32, "stream": stream,
            "messages": [{"role": "user", "content": "hi"}]})
        .to_string(),
    )
}

fn post(url: &str, key: &str, body: Bytes) -> http::Request<Full<Bytes>> {
    http::Request::post(format!("{url}/v1/messages"))
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap()
}

/// The certificate a fresh TLS connection to `url` is served, as DER.
async fn served_cert(ca: &TestCa, url: &str) -> Result<Vec<u8>, String> {
    let addr = url.trim_start_matches("https://");
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(ca.client_config(&[b"http/1.1"])));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let certs = tls
        .get_ref()
        .1
        .peer_certificates()
        .ok_or("no certificate")?;
    Ok(certs[0].as_ref().to_vec())
}

fn pem_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

#[test]
fn https_over_http1_and_http2_and_status() {
    let ca = TestCa::new("lgw test CA");
    let t = setup(&ca);
    let server = start(&t);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let rt = runtime();
    for h2 in [false, true] {
        let client = ca.client(h2);
        let resp = rt
            .block_on(client.request(post(&server.url, &t.key, messages(false))))
            .unwrap();
        let want = if h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        assert_eq!(resp.version(), want);
        assert_eq!(resp.status(), 200);
        let body = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("Hello"));
    }
    // A client that does not trust the CA is refused by its own TLS stack.
    let stranger = TestCa::new("someone else");
    let err = rt
        .block_on(
            stranger
                .client(false)
                .request(post(&server.url, &t.key, messages(false))),
        )
        .unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    // The CLI reaches its own server over HTTPS, trusting that certificate file.
    let st = t.env.json(&["status"]);
    assert_eq!(st["upstreams"][0]["name"], "ant", "{st}");
    assert!(t.env.run(&["health"]).status.success());
    assert_eq!(t.ant.inference_requests().len(), 2);
}

#[test]
fn a_rotated_certificate_is_served_without_dropping_a_live_stream() {
    let ca = TestCa::new("lgw test CA");
    let t = setup(&ca);
    t.ant.set(|b| {
        b.deltas = 20;
        b.event_gap = Some(Duration::from_millis(150));
    });
    let server = start(&t);
    let rt = runtime();
    let client = ca.client(false);
    let resp = rt
        .block_on(client.request(post(&server.url, &t.key, messages(true))))
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    // The first bytes of the stream, then a new certificate from a new CA.
    let first = rt.block_on(body.frame()).unwrap().unwrap();
    assert!(first.is_data());
    let ca2 = TestCa::new("lgw rotated CA");
    let leaf2 = ca2.leaf();
    write_leaf(&t, &leaf2);
    let want = pem_der(&leaf2.cert_pem);
    assert!(
        eventually(Duration::from_secs(15), || {
            rt.block_on(served_cert(&ca2, &server.url))
                .is_ok_and(|c| c == want)
        }),
        "the new certificate was never served: {}",
        server.logs()
    );
    assert!(server.logs().contains("TLS certificate reloaded"));
    // The stream that started before the rotation runs to its end.
    let rest = rt.block_on(body.collect()).unwrap().to_bytes();
    let text = String::from_utf8_lossy(&rest);
    assert!(text.contains("message_stop"), "{text}");
    // A broken pair on disk is not taken: the last good one stays.
    std::fs::write(&t.key_file, "not a key").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        rt.block_on(served_cert(&ca2, &server.url))
            .is_ok_and(|c| c == want)
    );
    assert!(
        server.logs().contains("previous one stays"),
        "{}",
        server.logs()
    );
}

#[test]
fn bad_certificate_files_are_refused_at_start() {
    let ca = TestCa::new("lgw test CA");
    let t = setup(&ca);
    let dir = t.cert.parent().unwrap().to_path_buf();
    let other = ca.leaf();
    let wrong_key = dir.join("other.key");
    std::fs::write(&wrong_key, &other.key_pem).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    let cert = t.cert.to_str().unwrap();
    let key = t.key_file.to_str().unwrap();
    for (c, k, want) in [
        (
            "/nonexistent/cert.pem",
            key,
            "cannot read the TLS certificate",
        ),
        (cert, "/nonexistent/key.pem", "cannot read the TLS key"),
        (junk.to_str().unwrap(), key, "holds no PEM certificate"),
        (cert, junk.to_str().unwrap(), "holds no PEM private key"),
        (
            cert,
            wrong_key.to_str().unwrap(),
            "does not belong to the certificate",
        ),
    ] {
        let out = t.env.run(&[
            "server",
            "start",
            "--port",
            "0",
            "--tls-cert",
            c,
            "--tls-key",
            k,
        ]);
        assert!(!out.status.success(), "{want}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{want}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // One flag without the other is a usage error.
    let out = t
        .env
        .run(&["server", "start", "--port", "0", "--tls-cert", cert]);
    assert!(!out.status.success());
    // The same files from the config file (relative to its directory) serve HTTPS.
    t.env.edit_config(|v| {
        v["server"]["tls"] = serde_yaml::from_str("{cert: gateway.crt, key: gateway.key}").unwrap();
    });
    let server = t.env.start();
    assert!(server.url.starts_with("https://"), "{}", server.url);
}

#[test]
fn beyond_loopback_needs_an_enabled_key() {
    let env = Env::new();
    env.add_key("only", "read,write");
    env.ok(&["apikey", "disable", "only"]);
    let out = env.run(&["server", "start", "--host", "0.0.0.0", "--port", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no gateway key is enabled"), "{err}");
}
