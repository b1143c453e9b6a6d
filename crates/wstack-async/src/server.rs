//! The server, written once: [`Service`] is what happens on one accepted connection (TLS,
//! the request, the application's decision, the WebSocket or HTTP handler); [`Server`] is
//! the accept loop with graceful shutdown. The runtime crates supply only a [`Listener`]
//! and a [`Runtime`] (spawn + timer).

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

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
    ///
    /// The handshake (TLS, the request, the 101) runs in a future of its own on the heap,
    /// freed once it is done: a connection's task then holds only the handler's future, not
    /// the kilobytes of handshake state that a single state machine would keep to the end.
    pub async fn handle(&self, io: S) -> Result<(), Error> {
        self.handle_from(io, None).await
    }

    /// [`handle`](Self::handle) for a connection from `peer`, which the handlers then see as
    /// the request's `peer_addr()`.
    pub async fn handle_from(&self, io: S, peer: Option<SocketAddr>) -> Result<(), Error> {
        let _guard = self.group.guard();
        if let Some(handler) = Box::pin(self.open(io, peer)).await? {
            handler.await;
        }
        Ok(())
    }

    /// The handshake of [`handle`](Self::handle): the WebSocket handler's future, not yet
    /// polled, or `None` once a plain HTTP request has been answered.
    async fn open(&self, io: S, peer: Option<SocketAddr>) -> Result<Option<BoxFuture<()>>, Error> {
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
        let mut incoming = read_request(io, &self.config, timer).await?;
        incoming.set_peer_addr(peer);
        match incoming {
            Incoming::Upgrade(up) => match (self.decide)(up.request()) {
                Ok(options) => {
                    let request = up.request().clone();
                    let ws = up.accept(options).await?.with_shutdown(&self.group);
                    Ok(Some((self.on_ws)(ws, request)))
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
                http.respond(response).await?;
                Ok(None)
            }
        }
    }
}

/// What a [`Server`] needs from a runtime besides a listener: a way to run a task in the
/// background, and the [`Timer`] the engine already uses. The runtime crates implement it on
/// their timer (`wstack_tokio::TokioTimer`, `wstack_smol::SmolTimer`, ...).
pub trait Runtime: Timer + Clone + 'static {
    /// Runs `future` as a detached task.
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;
}

/// A bound listener, as a [`Server`] sees it: it hands out accepted connections.
///
/// The runtime crates implement it for their TCP listener (with `TCP_NODELAY` set on every
/// accepted stream); implement it yourself to serve over something else (a Unix socket).
pub trait Listener: Send + 'static {
    /// An accepted connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Waits for the next connection; returns it with the peer's address. Dropping the future
    /// before it completes must lose no connection (the server drops it on shutdown).
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send + '_;
}

/// How long the accept loop waits after a failed accept (out of file descriptors and the
/// like) before it tries again, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A server on one listener: WebSocket upgrades go to a handler, plain HTTP requests to
/// another; TLS optional; graceful shutdown through [`ShutdownHandle`]. Each connection runs
/// as a task of the runtime `R`.
///
/// The runtime crates name it for their listener and runtime (`wstack_tokio::Server`, ...),
/// so that `Server::new(listener)` is all a user writes.
#[derive(Debug)]
pub struct Server<L, R> {
    listener: L,
    runtime: R,
    config: Config,
    tls: Option<Arc<rustls::ServerConfig>>,
    group: ShutdownGroup,
}

/// Stops a [`Server`]: no more accepts, every connection closed with 1001, then a bounded wait.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    group: ShutdownGroup,
    timer: Arc<dyn Timer>,
}

impl ShutdownHandle {
    /// Stops accepting, tells every connection to close with 1001 (going away), and waits
    /// up to `deadline` for them to finish. Returns how many were still running then.
    pub async fn shutdown(&self, deadline: Duration) -> usize {
        self.group.trigger();
        let _ = with_timeout(Some(&self.timer), deadline, async {
            self.group.wait_idle().await;
            Ok(())
        })
        .await;
        self.group.live()
    }
}

impl<L: Listener, R: Runtime> Server<L, R> {
    /// A server on `listener` with the default [`Config`], no TLS, on the runtime's default
    /// spawner.
    pub fn new(listener: impl Into<L>) -> Self
    where
        R: Default,
    {
        Self::with_runtime(listener.into(), R::default())
    }

    /// A server on `listener` whose connections run on `runtime`.
    pub fn with_runtime(listener: L, runtime: R) -> Self {
        Self {
            listener,
            runtime,
            config: Config::default(),
            tls: None,
            group: ShutdownGroup::new(),
        }
    }

    /// Uses `config` for every connection.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Runs TLS on every connection (see [`tls::server_config`](crate::tls::server_config)).
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The handle that shuts this server down.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            group: self.group.clone(),
            timer: Arc::new(self.runtime.clone()),
        }
    }

    /// Serves until shut down: every upgrade is accepted and handed to `handler` with its
    /// request; plain HTTP requests get 426.
    pub async fn serve<F, Fut>(self, handler: F) -> io::Result<()>
    where
        F: Fn(WebSocketStream<MaybeTlsStream<L::Io>>, UpgradeRequest) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let service = Service::new(Arc::new(self.runtime.clone()), handler);
        self.serve_service(service).await
    }

    /// Serves with full control: `decide` accepts or rejects each upgrade, `handler` runs
    /// each WebSocket, `http` answers plain HTTP requests on the same port.
    pub async fn serve_with_http<F, Fut, D, H, HFut>(
        self,
        decide: D,
        handler: F,
        http: H,
    ) -> io::Result<()>
    where
        F: Fn(WebSocketStream<MaybeTlsStream<L::Io>>, UpgradeRequest) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        D: Fn(&UpgradeRequest) -> Result<AcceptOptions, HttpResponse> + Send + Sync + 'static,
        H: Fn(HttpRequest) -> HFut + Send + Sync + 'static,
        HFut: Future<Output = HttpResponse> + Send + 'static,
    {
        let service = Service::new(Arc::new(self.runtime.clone()), handler)
            .on_upgrade(decide)
            .on_http(http);
        self.serve_service(service).await
    }

    /// The accept loop: `service` (given this server's config, TLS and shutdown group) runs
    /// each connection as a task, until the shutdown group is triggered.
    async fn serve_service(self, service: Service<L::Io>) -> io::Result<()> {
        let Self {
            mut listener,
            runtime,
            config,
            tls,
            group,
        } = self;
        let service = service.config(config).shutdown(group.clone());
        let service = match tls {
            Some(tls) => service.tls(tls),
            None => service,
        };
        let mut stop = pin!(group.triggered());
        loop {
            let accepted = {
                let mut accept = pin!(listener.accept());
                poll_fn(|cx| {
                    if stop.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    accept.as_mut().poll(cx).map(Some)
                })
                .await
            };
            match accepted {
                None => return Ok(()),
                Some(Ok((io, peer))) => {
                    let service = service.clone();
                    runtime.spawn(async move {
                        let _ = service.handle_from(io, Some(peer)).await;
                    });
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Some(Err(_)) => {
                    let mut sleep = runtime.sleep_until(runtime.now() + ACCEPT_BACKOFF);
                    poll_fn(|cx| sleep.as_mut().poll_sleep(cx)).await;
                }
            }
        }
    }
}
