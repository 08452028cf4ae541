//! The hardened listener of `authcore serve`: optional TLS (rustls) with a certificate
//! reloaded without a restart, header and body read timeouts, a cap on open connections, and
//! the open-file limit raised to what that cap needs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::ConnectInfo;
use clap::Args;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::cli::BoxError;

/// Options of the listener.
#[derive(Debug, Clone, Args)]
pub struct ListenerArgs {
    /// PEM certificate chain: serve HTTPS (with --tls-key). A replaced file is picked up on
    /// SIGHUP, or within 10 s by itself, without a restart.
    #[arg(long, env = "AUTHCORE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "AUTHCORE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// The `max-age` of the Strict-Transport-Security header sent over HTTPS, in seconds
    /// (0: no header).
    #[arg(long, env = "AUTHCORE_HSTS_MAX_AGE", default_value_t = 31_536_000)]
    pub hsts_max_age: u64,

    /// Connections open at once; more wait in the kernel's accept queue.
    #[arg(long, env = "AUTHCORE_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Length of the kernel's accept queue: connections beyond --max-connections wait there
    /// for a slot. When it overflows, the kernel drops or resets new connections. Linux caps
    /// it at `net.core.somaxconn`.
    #[arg(long, env = "AUTHCORE_LISTEN_BACKLOG", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=65_535))]
    pub listen_backlog: u32,

    /// Seconds a client has to send a request's headers (and the TLS handshake) before the
    /// connection is closed; also the longest an idle keep-alive connection is kept.
    #[arg(long, env = "AUTHCORE_HEADER_READ_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,

    /// Seconds a client has to send a request's body, counted from the end of its headers
    /// (however steadily the bytes come); a slower body fails the request and the
    /// connection is closed.
    #[arg(long, env = "AUTHCORE_BODY_READ_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout: u64,
}

impl ListenerArgs {
    /// Seconds between two looks at the certificate files for a change.
    const CERT_POLL: Duration = Duration::from_secs(10);

    /// The TLS state, when --tls-cert is given; the files are read now.
    ///
    /// # Errors
    /// When a file cannot be read or holds no usable certificate or key.
    pub fn tls(&self) -> Result<Option<Arc<TlsState>>, BoxError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(Arc::new(TlsState::load(cert, key)?))),
            _ => Ok(None),
        }
    }

    /// The open files `max_connections` needs: one per connection, plus the database pool,
    /// the directory, logs and headroom.
    fn open_files_needed(&self) -> u64 {
        u64::from(self.max_connections) + 256
    }
}

/// Listens on `addr` (a host name is resolved; the first address that can be bound wins) with
/// an accept queue of `backlog` connections.
///
/// Tokio's `TcpListener::bind` asks for 1,024, which a burst of sign-ins overflows as soon as
/// --max-connections are busy; the kernel then drops the handshakes it cannot queue, and a
/// client whose retransmissions outlive the SYN cookie gets a reset instead of an answer.
///
/// # Errors
/// When the address does not resolve or none of its addresses can be bound.
pub async fn bind(addr: &str, backlog: u32) -> std::io::Result<TcpListener> {
    let mut last = None;
    for resolved in tokio::net::lookup_host(addr).await? {
        let socket = if resolved.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As std and tokio do: a restarted server can take its port back at once.
        socket.set_reuseaddr(true)?;
        match socket.bind(resolved).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

/// Raises the soft open-file limit to what the connection cap needs (never above the hard
/// limit); logs what it got.
pub fn raise_open_file_limit(args: &ListenerArgs) {
    let wanted = args.open_files_needed();
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got >= wanted => tracing::info!(limit = got, "open-file limit"),
        Ok(got) => tracing::warn!(
            limit = got,
            wanted,
            "the open-file hard limit is below what --max-connections needs; raise it (ulimit -Hn) or lower --max-connections"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
}

/// The certificate in use and where it comes from.
#[derive(Debug)]
pub struct TlsState {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    loaded_mtimes: RwLock<(Option<SystemTime>, Option<SystemTime>)>,
}

impl TlsState {
    fn load(cert_path: &Path, key_path: &Path) -> Result<Self, BoxError> {
        let state = Self {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Arc::new(read_certified_key(cert_path, key_path)?)),
            loaded_mtimes: RwLock::new(mtimes(cert_path, key_path)),
        };
        Ok(state)
    }

    /// Reads the files again; on failure the certificate in use stays.
    pub fn reload(&self) {
        let mtimes = mtimes(&self.cert_path, &self.key_path);
        match read_certified_key(&self.cert_path, &self.key_path) {
            Ok(key) => {
                if let Ok(mut current) = self.current.write() {
                    *current = Arc::new(key);
                }
                if let Ok(mut loaded) = self.loaded_mtimes.write() {
                    *loaded = mtimes;
                }
                tracing::info!(cert = %self.cert_path.display(), "TLS certificate loaded");
            }
            Err(e) => tracing::error!(
                cert = %self.cert_path.display(),
                error = %e,
                "cannot load the new TLS certificate; keeping the one in use"
            ),
        }
    }

    /// Whether a file changed since it was last loaded.
    fn changed(&self) -> bool {
        let now = mtimes(&self.cert_path, &self.key_path);
        self.loaded_mtimes
            .read()
            .map_or(true, |loaded| *loaded != now)
    }

    fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, BoxError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver(Arc::clone(self))));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reloads on SIGHUP and when a file changes, until the process ends.
    fn spawn_reloader(self: &Arc<Self>) {
        let state = Arc::clone(self);
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hup = match tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::hangup(),
            ) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "no SIGHUP handler: certificate reload by file watch only");
                    None
                }
            };
            let mut poll = tokio::time::interval(ListenerArgs::CERT_POLL);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                tokio::select! {
                    () = hangup => {
                        tracing::info!("SIGHUP: reloading the TLS certificate");
                        state.reload();
                    }
                    _ = poll.tick() => {
                        if state.changed() {
                            state.reload();
                        }
                    }
                }
            }
        });
    }
}

fn mtimes(cert: &Path, key: &Path) -> (Option<SystemTime>, Option<SystemTime>) {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(cert), m(key))
}

fn read_certified_key(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, BoxError> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| format!("--tls-cert {}: {e}", cert_path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate in the file",
            cert_path.display()
        )
        .into());
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| format!("--tls-key {}: {e}", key_path.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| format!("--tls-key {}: {e}", key_path.display()))?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(|e| {
        format!(
            "--tls-key {} does not match --tls-cert: {e}",
            key_path.display()
        )
    })?;
    Ok(certified)
}

#[derive(Debug)]
struct Resolver(Arc<TlsState>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.current.read().ok().map(|c| Arc::clone(&c))
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the requests in flight
/// finish.
///
/// # Errors
/// When the TLS configuration cannot be built.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    args: &ListenerArgs,
    tls: Option<Arc<TlsState>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), BoxError> {
    let acceptor = match &tls {
        Some(state) => {
            state.spawn_reloader();
            Some(tokio_rustls::TlsAcceptor::from(state.server_config()?))
        }
        None => None,
    };
    let header_timeout = Duration::from_secs(args.header_read_timeout);
    let body_timeout = Duration::from_secs(args.body_read_timeout);
    let slots = Arc::new(Semaphore::new(args.max_connections as usize));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let service =
                hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(ConnectInfo(peer));
                        app.clone().oneshot(req.map(|body| {
                            axum::body::Body::new(DeadlineBody::new(body, body_timeout))
                        }))
                    },
                );
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            match acceptor {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, %peer, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Adds `Strict-Transport-Security` to every answer.
pub fn hsts(app: Router, max_age: u64) -> Router {
    let value = format!("max-age={max_age}");
    app.layer(axum::middleware::map_response(
        move |mut res: axum::response::Response| {
            let value = value.clone();
            async move {
                if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
                    res.headers_mut()
                        .insert(axum::http::header::STRICT_TRANSPORT_SECURITY, v);
                }
                res
            }
        },
    ))
}

/// A request body that fails once `deadline` has passed, however steadily its bytes arrive.
///
/// tower-http's `RequestBodyTimeoutLayer` restarts its timer at every frame, so a client
/// sending one byte a second held a connection (and its slot under --max-connections) for as
/// long as its `Content-Length` allowed. This deadline is counted from the end of the headers.
#[derive(Debug)]
struct DeadlineBody {
    inner: hyper::body::Incoming,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

/// The error of a body not received in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received within --body-read-timeout")]
struct BodyTimedOut;

impl DeadlineBody {
    fn new(inner: hyper::body::Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl hyper::body::Body for DeadlineBody {
    type Data = hyper::body::Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future as _;
        let this = &mut *self;
        if let std::task::Poll::Ready(frame) = std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            return std::task::Poll::Ready(frame.map(|f| f.map_err(BoxError::from)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Some(Err(BoxError::from(BodyTimedOut))));
        }
        std::task::Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
