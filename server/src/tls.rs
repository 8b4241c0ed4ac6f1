//! TLS with rustls (the `ring` provider): the server's configuration from a PEM
//! certificate chain and private key.

use std::path::Path;
use std::sync::Arc;

use crate::StartError;

/// The rustls server configuration for `cert` (a PEM chain) and `key` (a PEM private key).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| StartError::Tls(format!("cannot read {}: {e}", p.display())))
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            StartError::Tls(format!(
                "{}: not a PEM certificate chain: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(StartError::Tls(format!(
            "{} holds no certificate",
            cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| StartError::Tls(format!("{}: not a PEM private key: {e}", key.display())))?
        .ok_or_else(|| StartError::Tls(format!("{} holds no private key", key.display())))?;
    let provider = Arc::new(ring_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| StartError::Tls(format!("the certificate and key do not fit: {e}")))?;
    Ok(Arc::new(config))
}

/// rustls's `ring` provider: the default `aws-lc-rs` one needs a long C build.
#[expect(
    deprecated,
    reason = "ring's provider lacks post-quantum key exchange; it is the one that builds without a C toolchain here"
)]
pub fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
