//! Runs the real `authcore` binary: one-shot commands and a server on a free port, on a
//! SQLite file or a fresh database of the PostgreSQL / MariaDB server `scripts/test` starts.
//! Every test file of this crate starts its servers and runs its commands through here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_authcore");

/// The first admin most tests create.
pub const ADMIN: &str = "admin@example.org";
/// Their password.
pub const ADMIN_PW: &str = "Adm1n-Secret!";
/// argon2id parameters that keep a test's sign-ins cheap (the server accepts them as flags).
pub const FAST_ARGON2: [&str; 4] = ["--argon2-memory-kib", "8", "--argon2-iterations", "1"];
/// The `#[ignore]` reason of the tests that need PostgreSQL.
pub const NEEDS_POSTGRES: &str = "needs PostgreSQL: run scripts/test";

/// Where a test keeps its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// `authcore.db` in the test's temp directory.
    Sqlite,
    /// A fresh database on the server of `AUTHCORE_TEST_POSTGRES_URL`.
    Postgres,
    /// A fresh database on the server of `AUTHCORE_TEST_MYSQL_URL` (MariaDB).
    MySql,
}

impl Db {
    /// A database URL with no user in it yet (for a server engine, a new database on it).
    /// Panics when the engine's variable is not set: run `scripts/test`.
    pub async fn fresh_url(self, dir: &TempDir) -> String {
        match self {
            Self::Sqlite => dir.sqlite_url(),
            Self::Postgres => {
                create_database::<sqlx::PgConnection>("AUTHCORE_TEST_POSTGRES_URL").await
            }
            Self::MySql => {
                create_database::<sqlx::MySqlConnection>("AUTHCORE_TEST_MYSQL_URL").await
            }
        }
    }
}

/// Creates a new database on the server of the URL in `var` and returns its URL.
async fn create_database<C>(var: &str) -> String
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let base = env_url(var);
    let name = unique_db_name();
    let mut conn = C::connect(&base).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    with_database(&base, &name)
}

fn env_url(var: &str) -> String {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("{var} is not set: run scripts/test, which starts the server"),
    }
}

fn unique_db_name() -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("authcore_srv_{hex}")
}

/// `base` with its database (the last path segment) replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (url, query) = base
        .split_once('?')
        .map_or((base, None), |(u, q)| (u, Some(q)));
    let (prefix, _) = url.rsplit_once('/').unwrap();
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// The formats of a user's stored hashes, read by a store of its own (a server may keep
/// running on the same database), or `None` when there is no such user.
pub async fn stored_formats(db_url: &str, email: &str) -> Option<Vec<authcore_core::HashFormat>> {
    use authcore_core::UserStore as _;
    let store = authcore_sql::SqlStore::connect(db_url).await.unwrap();
    let user = store.find_by_username(email).await.unwrap();
    store.close().await;
    user.map(|u| {
        u.passwords()
            .iter()
            .map(|p| authcore_core::HashFormat::detect(p.hash.expose_phc()).unwrap())
            .collect()
    })
}

/// `authcore user add EMAIL --password-stdin --database-url DB EXTRA`, not yet run.
pub fn user_add(dir: &TempDir, db: &str, email: &str, extra: &[&str]) -> Command {
    let mut cmd = authcore(
        dir,
        &[
            "user",
            "add",
            email,
            "--password-stdin",
            "--database-url",
            db,
        ],
    );
    cmd.args(extra);
    cmd
}

/// `authcore user add EMAIL --role ROLE --password-stdin --database-url DB`, which must succeed.
pub fn add_user(dir: &TempDir, db: &str, email: &str, role: &str, password: &str) {
    let cmd = user_add(dir, db, email, &["--role", role]);
    ok(&run_with_stdin(cmd, &format!("{password}\n")));
}

/// A temp directory with [`ADMIN`] (password [`ADMIN_PW`]) in its SQLite file, and that file's URL.
pub fn with_admin() -> (TempDir, String) {
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    add_user(&dir, &db, ADMIN, "admin", ADMIN_PW);
    (dir, db)
}

/// A temp directory, removed on drop (kept when the test panics, for its files).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("authcore-server-test-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A SQLite URL for a database file in this directory.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("authcore.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `authcore ARGS` with no `AUTHCORE_*` variable from the test's environment.
pub fn authcore(dir: &TempDir, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir.path())
        .env("RUST_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHCORE_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs the command with `stdin` as standard input.
pub fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs the command with standard input closed.
pub fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and returns standard output.
#[track_caller]
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// One answer of [`sign_in_burst`].
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// `n` [`Server::wrong_sign_in`]s released at the same instant (a barrier): their answers.
pub async fn sign_in_burst(server: &Arc<Server>, n: usize) -> Vec<Answer> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (server, barrier) = (Arc::clone(server), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let res = server.wrong_sign_in(None).await;
                let status = res.status().as_u16();
                let retry_after = res
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body = res.json().await.unwrap();
                Answer {
                    status,
                    retry_after,
                    body,
                }
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// A running `authcore serve`; killed on drop.
pub struct Server {
    child: Child,
    pub addr: String,
    pub client: reqwest::Client,
    log: PathBuf,
}

impl Server {
    /// Starts `authcore serve --listen 127.0.0.1:0 ARGS` in `dir`.
    pub fn start(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = dir
            .path()
            .join(format!("server-{}.log", std::process::id()));
        let mut cmd = authcore(dir, &["serve", "--listen", "127.0.0.1:0"]);
        cmd.args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let line = line.trim();
        let addr = line
            .strip_prefix("listening on http://")
            .or_else(|| line.strip_prefix("listening on https://"));
        let Some(addr) = addr else {
            let _ = child.kill();
            panic!(
                "the server did not start ({line:?}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Self {
            addr: addr.to_owned(),
            child,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            log,
        }
    }

    /// Starts `authcore serve --database-url (the SQLite file of dir) ARGS`.
    pub fn sqlite(dir: &TempDir, args: &[&str]) -> Self {
        let db = dir.sqlite_url();
        let mut all = vec!["--database-url", db.as_str()];
        all.extend(args);
        Self::start(dir, &all, &[])
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `POST /v1/users/authorize`: the status.
    pub async fn sign_in(&self, username: &str, password: &str) -> u16 {
        self.client
            .post(self.url("/v1/users/authorize"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// `METHOD path` with an optional bearer token and JSON body: the status and the JSON
    /// answer (`Null` when the answer is not JSON).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path`: the status and the body as text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// `GET path`, which must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Signs in, which must succeed: the access token.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let body = json!({"username": username, "password": password});
        let (status, answer) = self
            .request("POST", "/v1/users/authorize", None, Some(&body))
            .await;
        assert_eq!(status, 200, "sign-in of {username}: {answer}");
        answer["access_token"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/users/authorize` of a user that does not exist (401 unless refused), with
    /// an optional `X-Forwarded-For`.
    pub async fn wrong_sign_in(&self, forwarded_for: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/v1/users/authorize"))
            .json(&json!({"username": "nobody@example.org", "password": "guess"}));
        if let Some(xff) = forwarded_for {
            req = req.header("x-forwarded-for", xff);
        }
        req.send().await.unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a name such as `HUP`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (after [`Server::signal`]): its exit status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL server of this test's own (it is stopped and started again).
pub struct OwnPostgres {
    pub url: String,
    ctl: String,
    dir: String,
}

impl OwnPostgres {
    /// Starts it with `scripts/servers/start-postgres.sh`.
    pub fn start() -> Self {
        let var = start_script("start-postgres.sh");
        Self {
            url: var("AUTHCORE_TEST_POSTGRES_URL"),
            ctl: var("AUTHCORE_TEST_PG_CTL"),
            dir: var("AUTHCORE_TEST_PG_DIR"),
        }
    }

    /// `stop` or `start` it (`pg_ctl -w`: returns once it is down or accepting connections).
    pub fn ctl(&self, action: &str) {
        ctl(&self.ctl, action);
    }
}

/// Runs `scripts/servers/SCRIPT` (which starts a throwaway server and prints `KEY=VALUE`
/// lines) and gives a lookup of its output that fails the test on a missing key.
pub fn start_script(script: &str) -> impl Fn(&str) -> String {
    let path = format!(
        "{}/../../scripts/servers/{script}",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{path} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    move |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {text}"))
            .to_owned()
    }
}

/// Runs a server's control script (`stop`, `start`) and requires success.
pub fn ctl(script: &str, action: &str) {
    assert!(Command::new(script).arg(action).status().unwrap().success());
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new(&self.ctl).arg("stop").status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
