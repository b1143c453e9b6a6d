//! The runtime-independent half of a server: what happens on one accepted connection (TLS,
//! the request, the application's decision, the WebSocket or HTTP handler). The runtime
//! crates add only the accept loop and the spawning.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use wstack_handshake::{AcceptOptions, HttpRequest, HttpResponse, UpgradeRequest};

use crate::config::Config;
use crate::error::Error;
use crate::opening::{Incoming, read_request, with_timeout};
use crate::shutdown::ShutdownGroup;
use crate::stream::WebSocketStream;
use crate::timer::Timer;
use crate::tls::{MaybeTlsStream, accept_tls};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type Decide = dyn Fn(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse> + Send + Sync;
type OnWs<S> =
    dyn Fn(WebSocketStream<MaybeTlsStream<S>>, UpgradeRequest) -> BoxFuture<()> + Send + Sync;
type OnHttp = dyn Fn(HttpRequest) -> BoxFuture<HttpResponse> + Send + Sync;

/// How a server treats each connection: TLS or not, which upgrades it accepts, and the
/// handlers for WebSocket connections and for plain HTTP requests on the same port.
/// Cloning is cheap (shared handlers).
pub struct Service<S> {
    config: Arc<Config>,
    tls: Option<Arc<rustls::ServerConfig>>,
    timer: Arc<dyn Timer>,
    group: ShutdownGroup,
    decide: Arc<Decide>,
    on_ws: Arc<OnWs<S>>,
    on_http: Option<Arc<OnHttp>>,
}

impl<S> Clone for Service<S> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
            tls: self.tls.clone(),
            timer: Arc::clone(&self.timer),
            group: self.group.clone(),
            decide: Arc::clone(&self.decide),
            on_ws: Arc::clone(&self.on_ws),
            on_http: self.on_http.clone(),
        }
    }
}

impl<S> fmt::Debug for Service<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .field("http", &self.on_http.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Service<S> {
    /// A service accepting every upgrade and handing the stream and its request to
    /// `handler`; plain HTTP requests get 426 until [`on_http`](Self::on_http) is set.
    pub fn new<F, Fut>(timer: Arc<dyn Timer>, handler: F) -> Self
    where
        F: Fn(WebSocketStream<MaybeTlsStream<S>>, UpgradeRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            config: Arc::new(Config::default()),
            tls: None,
            timer,
            group: ShutdownGroup::new(),
            decide: Arc::new(|_| Ok(AcceptOptions::new())),
            on_ws: Arc::new(move |ws, req| Box::pin(handler(ws, req))),
            on_http: None,
        }
    }

    /// Uses `config` for every connection.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// Runs TLS on every connection with this rustls configuration
    /// ([`tls::server_config`](crate::tls::server_config) builds one from PEM files).
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Decides on each upgrade request: accept with options (subprotocol, headers), or
    /// reject with an HTTP response (403 for a foreign origin, ...).
    #[must_use]
    pub fn on_upgrade<F>(mut self, decide: F) -> Self
    where
        F: Fn(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse> + Send + Sync + 'static,
    {
        self.decide = Arc::new(decide);
        self
    }

    /// Answers plain HTTP requests on the same port (a page, a health check).
    #[must_use]
    pub fn on_http<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        self.on_http = Some(Arc::new(move |req| Box::pin(handler(req))));
        self
    }

    /// Puts this service's connections in `group` (a server's shutdown handle triggers it).
    #[must_use]
    pub fn shutdown(mut self, group: ShutdownGroup) -> Self {
        self.group = group;
        self
    }

    /// The shutdown group of this service's connections.
    pub fn shutdown_group(&self) -> &ShutdownGroup {
        &self.group
    }

    /// Serves one accepted connection to its end. Errors of the handshake are returned (the
    /// peer has been answered); what the handler does is its own business.
    pub async fn handle(&self, io: S) -> Result<(), Error> {
        let _guard = self.group.guard();
        let timer = Some(Arc::clone(&self.timer));
        let io = match &self.tls {
            Some(tls) => {
                with_timeout(
                    timer.as_ref(),
                    self.config.handshake_timeout,
                    accept_tls(io, Arc::clone(tls)),
                )
                .await?
            }
            None => MaybeTlsStream::Plain(io),
        };
        match read_request(io, &self.config, timer).await? {
            Incoming::Upgrade(up) => match (self.decide)(up.request()) {
                Ok(options) => {
                    let request = up.request().clone();
                    let ws = up.accept(options).await?.with_shutdown(&self.group);
                    (self.on_ws)(ws, request).await;
                    Ok(())
                }
                Err(response) => {
                    let status = response.status();
                    up.reject(response).await?;
                    Err(Error::Rejected { status })
                }
            },
            Incoming::Http(http) => {
                let response = match &self.on_http {
                    Some(h) => h(http.request().clone()).await,
                    None => HttpResponse::new(426)
                        .header("Upgrade", "websocket")
                        .header("Sec-WebSocket-Version", "13")
                        .body(b"this endpoint speaks WebSocket\n".to_vec()),
                };
                http.respond(response).await
            }
        }
    }
}
