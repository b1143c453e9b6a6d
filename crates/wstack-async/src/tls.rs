//! rustls plumbing shared by every runtime: client and server configurations, and one stream
//! type for plain and TLS transports (futures-rustls, over futures-io).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::{TlsAcceptor, TlsConnector};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::Error;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Io(io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A client configuration trusting the bundled Mozilla roots (webpki-roots) plus
/// `extra_roots` (your own CA, or a self-signed server certificate). This is what
/// `connect` uses when `Config::tls` is `None`.
pub fn client_config(
    extra_roots: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<Arc<ClientConfig>, Error> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    config_with_roots(roots, extra_roots)
}

/// A client configuration trusting the operating system's certificate store plus
/// `extra_roots`: what a company adds to the machine's store is trusted too, and the bundled
/// list is not used. Read with rustls-native-certs: on Linux the OpenSSL locations, or the
/// files that `SSL_CERT_FILE` / `SSL_CERT_DIR` name; the platform's verifier on macOS and
/// Windows. Fails when the store holds no usable certificate.
pub fn system_client_config(
    extra_roots: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<Arc<ClientConfig>, Error> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_, _unparsable) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map_or_else(|| "it is empty".to_owned(), ToString::to_string);
        return Err(tls_error(format!(
            "no usable certificate in the system's store: {why}"
        )));
    }
    config_with_roots(roots, extra_roots)
}

fn config_with_roots(
    mut roots: RootCertStore,
    extra_roots: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<Arc<ClientConfig>, Error> {
    for cert in extra_roots {
        roots.add(cert).map_err(tls_error)?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificates of a PEM file (`-----BEGIN CERTIFICATE-----` blocks).
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls_error)
}

/// A server configuration from a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1
/// or SEC1).
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, Error> {
    let chain = certificates_from_pem(cert_chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(tls_error)?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    Ok(Arc::new(config))
}

/// A transport that may run TLS: what `connect` returns for `ws://` and `wss://` alike, and
/// what a TLS server accepts.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // boxed below: the TLS states are large, the plain one is not
pub enum MaybeTlsStream<S> {
    /// No TLS (`ws://`).
    Plain(S),
    /// TLS, client side (`wss://`).
    ClientTls(Box<futures_rustls::client::TlsStream<S>>),
    /// TLS, server side.
    ServerTls(Box<futures_rustls::server::TlsStream<S>>),
}

impl<S> MaybeTlsStream<S> {
    /// The transport under TLS.
    pub fn get_ref(&self) -> &S {
        match self {
            Self::Plain(s) => s,
            Self::ClientTls(s) => s.get_ref().0,
            Self::ServerTls(s) => s.get_ref().0,
        }
    }

    /// Whether TLS runs on this stream.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain(_))
    }
}

/// Runs the TLS client handshake for `host` (brackets of an IPv6 literal are removed).
pub async fn connect_tls<S>(
    io: S,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<MaybeTlsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_owned())
        .map_err(|_| Error::InvalidServerName(host.to_owned()))?;
    let stream = TlsConnector::from(config).connect(name, io).await?;
    Ok(MaybeTlsStream::ClientTls(Box::new(stream)))
}

/// Runs the TLS server handshake.
pub async fn accept_tls<S>(io: S, config: Arc<ServerConfig>) -> Result<MaybeTlsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stream = TlsAcceptor::from(config).accept(io).await?;
    Ok(MaybeTlsStream::ServerTls(Box::new(stream)))
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::ClientTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Self::ServerTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::ClientTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Self::ServerTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::ClientTls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Self::ServerTls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::ClientTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Self::ServerTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_close(cx),
            Self::ClientTls(s) => Pin::new(s.as_mut()).poll_close(cx),
            Self::ServerTls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}
