//! What an application can tune: the connection's limits and timers, the handshake, TLS.

use std::sync::Arc;
use std::time::Duration;

use wstack_deflate::DeflateConfig;
use wstack_handshake::Limits;

/// Settings of a connection and of its opening handshake. Every field has a safe default.
///
/// ```
/// use std::time::Duration;
/// let mut config = wstack_async::Config::default();
/// config.connection.max_message_size = 1 << 20;
/// config.connection.ping_interval = Some(Duration::from_secs(20));
/// config.handshake_timeout = Duration::from_secs(5);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Limits and timers of the connection once open (message and frame sizes, write
    /// high-water mark, keepalive, close timeout): see [`wstack_proto::Config`].
    pub connection: wstack_proto::Config,
    /// How long the opening handshake may take, TLS included (default 10 s). A peer that is
    /// slower is dropped with [`Error::HandshakeTimeout`](crate::Error::HandshakeTimeout).
    pub handshake_timeout: Duration,
    /// Bounds on the HTTP head the peer sends (default 16 KiB, 100 headers).
    pub limits: Limits,
    /// permessage-deflate (RFC 7692): `None` (default) neither offers nor accepts it. A client
    /// offers it when set and enabled; a server accepts offers it supports.
    pub deflate: Option<DeflateConfig>,
    /// TLS for `wss://` clients. `None` (default): the bundled Mozilla roots (webpki-roots).
    /// Build one with [`tls::client_config`](crate::tls::client_config) to trust your own
    /// root (a self-signed server) too, or with
    /// [`tls::system_client_config`](crate::tls::system_client_config) to trust the
    /// operating system's store instead.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Incoming messages an unsplit stream may hold for the application while `ping` or
    /// `close` read on its behalf (default 1 MiB; one message always fits).
    pub stash_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connection: wstack_proto::Config::default(),
            handshake_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            deflate: None,
            tls: None,
            stash_limit: 1 << 20,
        }
    }
}

impl Config {
    /// Turns permessage-deflate on with its default settings (both roles).
    #[must_use]
    pub fn with_deflate(mut self) -> Self {
        self.deflate = Some(DeflateConfig::client());
        self
    }
}
