//! Starts the real `authcore serve` (the binary of `crates/authcore-server`) on a free port
//! with a fresh database, and talks to it over HTTP.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use sqlx::Connection as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Where a test server keeps its users.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in a temp directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
    /// A fresh database on the MySQL / MariaDB server at this URL.
    MySql(String),
}

impl Backend {
    /// The MySQL / MariaDB server of `AUTHCORE_TEST_MYSQL_URL`; panics when it is not set.
    pub fn mysql() -> Self {
        match std::env::var("AUTHCORE_TEST_MYSQL_URL") {
            Ok(url) if !url.is_empty() => Self::MySql(url),
            _ => {
                panic!("AUTHCORE_TEST_MYSQL_URL is not set: run scripts/test, which starts MariaDB")
            }
        }
    }

    /// A timestamp literal long in the past, as the engine's timestamp column takes it.
    pub fn old_timestamp(&self) -> &'static str {
        match self {
            Self::MySql(_) => "'2000-01-01 00:00:00.000000'",
            Self::Sqlite | Self::Postgres(_) => "'2000-01-01T00:00:00.000000Z'",
        }
    }

    /// The PostgreSQL server of `AUTHCORE_TEST_POSTGRES_URL`; panics (the test fails loudly)
    /// when it is not set.
    pub fn postgres() -> Self {
        match std::env::var("AUTHCORE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Self::Postgres(url),
            _ => panic!(
                "AUTHCORE_TEST_POSTGRES_URL is not set: run scripts/test, which starts PostgreSQL"
            ),
        }
    }
}

/// The `authcore` binary of `crates/authcore-server`, built once per test process
/// (`cargo build -p authcore-server --bin authcore`) unless it is newer than every source, so
/// that `cargo test --test server_e2e` never runs a stale binary.
pub fn server_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/server_e2e-<hash> -> target/<profile>/authcore
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let bin = profile_dir.join(format!("authcore{}", std::env::consts::EXE_SUFFIX));
        // `cargo test --workspace` has just built it (authcore-server's own tests need it).
        if is_fresh(&bin) {
            return bin;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--package",
            "authcore-server",
            "--bin",
            "authcore",
            "--quiet",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target_dir);
        }
        let status = cmd.status().expect("cargo build -p authcore-server");
        assert!(status.success(), "cargo build -p authcore-server failed");
        assert!(bin.exists(), "{} not found after the build", bin.display());
        bin
    })
}

/// Whether `bin` is newer than every source file of the workspace.
fn is_fresh(bin: &Path) -> bool {
    fn newest(path: &Path, out: &mut std::time::SystemTime) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == ".git")
            {
                return;
            }
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                newest(&entry.path(), out);
            }
        } else if let Ok(modified) = meta.modified() {
            *out = (*out).max(modified);
        }
    }
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut latest = std::time::SystemTime::UNIX_EPOCH;
    for part in ["Cargo.toml", "Cargo.lock", "crates"] {
        newest(&root.join(part), &mut latest);
    }
    built > latest
}

/// A running server; killed and its temp directory removed on drop.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: PathBuf,
    pub db_url: String,
    backend: Backend,
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Server {
    /// Starts a server on a new, empty database.
    pub async fn start(backend: &Backend, args: &[String], env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("authcore-e2e-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let db_url = match backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("authcore.db").display()),
            Backend::Postgres(base) => {
                let name = format!("authcore_e2e_{}", unique());
                let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                with_database(base, &name)
            }
            Backend::MySql(base) => {
                let name = format!("authcore_e2e_{}", unique());
                let mut conn = sqlx::MySqlConnection::connect(base).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                with_database(base, &name)
            }
        };
        Self::start_on(backend, dir, db_url, args, env).await
    }

    /// Starts a server with no `--database-url`: it then keeps its SQL state in the default
    /// SQLite file `authcore.db` of its working directory (a new temp directory). With
    /// `--ldap-config` this is the directory-only mode.
    pub async fn start_without_database(args: &[String]) -> Self {
        let dir = std::env::temp_dir().join(format!("authcore-e2e-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::start_on(&Backend::Sqlite, dir, String::new(), args, &[]).await
    }

    async fn start_on(
        backend: &Backend,
        dir: PathBuf,
        db_url: String,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Self {
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let mut cmd = Command::new(server_binary());
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        if !db_url.is_empty() {
            cmd.args(["--database-url", &db_url]);
        }
        cmd.args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .env("RUST_LOG", "info");
        for (k, _) in std::env::vars() {
            if k.starts_with("AUTHCORE_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the server did not start; its log:\n{}",
                    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
                )
            });
        let addr: SocketAddr = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Self {
            child: Some(child),
            addr,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            dir,
            db_url,
            backend: backend.clone(),
        }
    }

    /// Starts a second server process on this server's database (its own port, working
    /// directory and log), for tests of what several processes sharing one store must agree
    /// on. Both run until dropped.
    pub async fn start_sharing(&self, args: &[String], env: &[(&str, &str)]) -> Self {
        assert!(
            !self.db_url.is_empty(),
            "a server without --database-url has no database to share"
        );
        let dir = std::env::temp_dir().join(format!("authcore-e2e-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::start_on(&self.backend, dir, self.db_url.clone(), args, env).await
    }

    /// Stops this server with SIGTERM and starts a new one on the same database.
    pub async fn restart(mut self, args: &[String]) -> Self {
        let status = self.terminate();
        assert!(status.success(), "{status:?}");
        let dir = std::mem::take(&mut self.dir);
        let db_url = std::mem::take(&mut self.db_url);
        Self::start_on(&self.backend, dir, db_url, args, &[]).await
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        panic!("the server did not stop within 10 s of SIGTERM");
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request; the answer must be JSON.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method.parse().unwrap(), self.url(path));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(ct.as_deref(), Some("application/json"), "{method} {path}");
        let bytes = res.bytes().await.unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {bytes:?}"));
        (status, value)
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, None, Some(body)).await
    }

    pub async fn get_auth(&self, path: &str, authorization: &str) -> (u16, Value) {
        self.send("GET", path, Some(authorization), None).await
    }

    /// A POST with exactly this content type, body and `Authorization`; the raw answer.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: &str,
        authorization: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let mut req = self.client.post(self.url(path)).body(body.to_owned());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
    }

    /// Writes a raw HTTP/1.1 request (which must ask for `connection: close`) and returns the
    /// status and body of the answer.
    pub async fn raw(&self, request: &[u8]) -> (u16, Vec<u8>) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut out = Vec::new();
        // The server may answer (413) before reading the whole body and close.
        let _ = stream.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out).into_owned();
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("no status line in {text:?}"))
            .parse()
            .unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        (status, body.into_bytes())
    }

    /// Signs in with JSON credentials and returns the token.
    /// `POST /v1/users/authorize` with a JSON body and the default ttl.
    pub async fn authorize(&self, username: &str, password: &str) -> (u16, Value) {
        self.post_json(
            "/v1/users/authorize",
            serde_json::json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn token(&self, username: &str, password: &str) -> String {
        let (st, body) = self.authorize(username, password).await;
        assert_eq!(st, 200, "sign-in of {username}: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A token valid for an hour, for tests that may outlast the default 300 s ttl on a
    /// loaded machine.
    pub async fn long_token(&self, username: &str, password: &str) -> String {
        let (st, body) = self
            .post_json(
                "/v1/users/authorize",
                serde_json::json!({"username": username, "password": password, "ttl": 3600}),
            )
            .await;
        assert_eq!(st, 200, "sign-in of {username}: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Runs a SQL statement on the server's database (to age passwords or break the store).
    pub async fn sql(&self, statement: &str) {
        macro_rules! run_on {
            ($conn:ty) => {{
                let mut conn = <$conn>::connect(&self.db_url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
            }};
        }
        match &self.backend {
            Backend::Sqlite => run_on!(sqlx::SqliteConnection),
            Backend::Postgres(_) => run_on!(sqlx::PgConnection),
            Backend::MySql(_) => run_on!(sqlx::MySqlConnection),
        }
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// `postgres://u:p@h:port/db?x` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !self.dir.as_os_str().is_empty() && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
