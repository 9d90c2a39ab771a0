//! Serving over TLS: a certificate chain and its private key from PEM files, HTTP/2 or
//! HTTP/1.1 by ALPN, and the pair reloaded when either file changes.
//!
//! Reloading: a task looks at both files' modification times every
//! [`WATCH_EVERY`]; when one changed, the pair is loaded and checked again and, if it
//! is good, new handshakes get it. Connections already open keep the certificate they
//! started with (a TLS session never re-reads it). A pair that fails to load (a file
//! half written, a key that does not match) is logged and the previous one stays.
//!
//! The CLI talks to its own server over the same listener; it trusts exactly the
//! certificate in the configured file (see `cli::status`), so a certificate issued for
//! a public name still works for `status` on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// How often the files are looked at.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);
/// Longest a client may take over its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {source}")]
    CertUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the TLS key {path}: {source}")]
    KeyUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("{path} is not a PEM certificate chain: {reason}")]
    BadCertificate { path: PathBuf, reason: String },
    #[error(
        "{path} holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or an RSA / EC key)"
    )]
    NoKey { path: PathBuf },
    #[error("the key in {path} is not usable: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
}

/// The certificate and key files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Read the chain (leaf first) from a PEM file.
pub fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::CertUnreadable {
        path: path.into(),
        source,
    })?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::BadCertificate {
            path: path.into(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: path.into() });
    }
    Ok(chain)
}

/// Load and check the pair: both readable, the key usable, the key the certificate's.
pub fn load(files: &TlsFiles) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = read_chain(&files.cert)?;
    let key_bytes = std::fs::read(&files.key).map_err(|source| TlsError::KeyUnreadable {
        path: files.key.clone(),
        source,
    })?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: files.key.clone(),
        },
        e => TlsError::BadKey {
            path: files.key.clone(),
            reason: e.to_string(),
        },
    })?;
    let provider = default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::BadKey {
            path: files.key.clone(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(Arc::new(certified)),
        // An unknown answer (a key type that cannot say) is let through; the first
        // handshake would fail loudly.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(_) => Err(TlsError::Mismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
        }),
    }
}

/// The certificate new handshakes get; replaced when the files change.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    pub fn new(first: Arc<CertifiedKey>) -> Self {
        CertStore {
            current: RwLock::new(first),
        }
    }

    fn set(&self, next: Arc<CertifiedKey>) {
        if let Ok(mut c) = self.current.write() {
            *c = next;
        }
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.clone())
    }
}

/// The TLS side of the listener: a rustls server config (ALPN `h2`, `http/1.1`) over
/// a reloadable certificate.
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub store: Arc<CertStore>,
    pub files: TlsFiles,
}

impl Tls {
    /// Load the pair (any problem is an error now, before the server listens).
    pub fn new(files: TlsFiles) -> Result<Tls, TlsError> {
        let first = load(&files)?;
        let store = Arc::new(CertStore::new(first));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::BadKey {
                path: files.key.clone(),
                reason: e.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(store.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            store,
            files,
        })
    }

    /// Reload the pair whenever either file changes, until the runtime ends.
    pub async fn watch(store: Arc<CertStore>, files: TlsFiles) {
        let stamp = |f: &TlsFiles| (modified(&f.cert), modified(&f.key));
        let mut seen = stamp(&files);
        let mut ticker = tokio::time::interval(WATCH_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = stamp(&files);
            if now == seen {
                continue;
            }
            seen = now;
            let f = files.clone();
            match tokio::task::spawn_blocking(move || load(&f)).await {
                Ok(Ok(next)) => {
                    store.set(next);
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
                Ok(Err(e)) => {
                    tracing::warn!("TLS certificate not reloaded, the previous one stays: {e}")
                }
                Err(e) => tracing::warn!("TLS certificate not reloaded: {e}"),
            }
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A client-side verifier that trusts exactly the certificates in the server's
/// certificate file (read at each connection, so a rotated file is followed), with
/// the handshake's signatures checked as usual. The CLI reaches its own server on
/// 127.0.0.1, where a certificate issued for a public name would not verify by name.
#[derive(Debug)]
pub struct PinnedToFile {
    path: PathBuf,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl PinnedToFile {
    pub fn new(path: PathBuf) -> Self {
        PinnedToFile {
            path,
            provider: Arc::new(default_provider()),
        }
    }

    /// A client config that trusts only that file's certificates.
    pub fn client_config(path: PathBuf) -> Result<rustls::ClientConfig, rustls::Error> {
        let verifier = Arc::new(PinnedToFile::new(path));
        let provider = verifier.provider.clone();
        // No ALPN here: the HTTPS connector sets it (and refuses a preset one).
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }
}

impl rustls::client::danger::ServerCertVerifier for PinnedToFile {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let chain = read_chain(&self.path).map_err(|e| rustls::Error::General(e.to_string()))?;
        if chain
            .first()
            .is_some_and(|c| c.as_ref() == end_entity.as_ref())
        {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate is not the one in {}",
                self.path.display()
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
