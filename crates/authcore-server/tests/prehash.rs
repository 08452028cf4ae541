//! Redis's pre-hashed passwords (`password_hash_method: "1"`) and the three classes of user
//! fields, against the real `authcore serve` binary on a SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_authcore");
const CLUSTER: &str = "cluster.example.test";

struct Server {
    child: Child,
    addr: String,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start() -> Server {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("authcore-prehash-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cluster-name",
            CLUSTER,
        ])
        .args(["--argon2-memory-kib", "8", "--argon2-iterations", "1"])
        .current_dir(&dir)
        .env_clear()
        .env("AUTHCORE_ADMIN_EMAIL", "admin@example.org")
        .env("AUTHCORE_ADMIN_PASSWORD", "Adm1n-Secret!")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .to_owned();
    Server { child, addr, dir }
}

fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let body = body.to_string();
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn sign_in(addr: &str, user: &str, password: &str) -> u16 {
    let body = serde_json::json!({"username": user, "password": password});
    request(addr, "POST", "/v1/users/authorize", None, &body).0
}

fn admin_token(addr: &str) -> String {
    let body = serde_json::json!({"username": "admin@example.org", "password": "Adm1n-Secret!"});
    let (status, body) = request(addr, "POST", "/v1/users/authorize", None, &body);
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The formats of a user's stored hashes, read from the server's SQLite file by a second store
/// (the server keeps running).
fn stored_formats(server: &Server, email: &str) -> Vec<authcore_core::HashFormat> {
    let url = format!("sqlite://{}", server.dir.join("authcore.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use authcore_core::UserStore as _;
        let store = authcore_sql::SqlStore::connect(&url).await.unwrap();
        let user = store.find_by_username(email).await.unwrap().unwrap();
        let formats = user
            .passwords()
            .iter()
            .map(|p| authcore_core::HashFormat::detect(p.hash.expose_phc()).unwrap())
            .collect();
        store.close().await;
        formats
    })
}

/// Every byte of the server's database files (main file and write-ahead log).
fn database_bytes(server: &Server) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&server.dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn prehashed_passwords_sign_in_with_the_plain_password_and_are_upgraded() {
    let server = start();
    let addr = &server.addr;
    let token = admin_token(addr);

    // POST with a pre-hash: the user signs in with the plain password, not the pre-hash.
    let prehash = authcore_core::redis_prehash("Pat@Example.org", CLUSTER, "pat-Secret-1");
    let body = serde_json::json!({
        "email": "Pat@Example.org", "password": prehash, "name": "Pat", "role": "db_viewer",
        "password_hash_method": "1",
        // Redis's other documented fields: accepted and ignored.
        "email_alerts": true, "bdbs_email_alerts": ["1"], "cluster_email_alerts": false,
        "account_id": 7, "action_uid": "a-1", "uid": 99, "auth_method": "regular",
        "password_issue_date": "2017-03-02T09:43:34Z"
    });
    let (status, user) = request(addr, "POST", "/v1/users", Some(&token), &body);
    assert_eq!(status, 200, "{user}");
    let uid = user["uid"].as_u64().unwrap();
    assert_ne!(uid, 99, "a read-only uid is ignored");
    assert!(user.get("password").is_none());
    // Never a bare SHA-256 at rest.
    assert!(!contains(&database_bytes(&server), &prehash));
    assert_eq!(sign_in(addr, "pat@example.org", &prehash), 401);
    assert_eq!(sign_in(addr, "pat@example.org", "pat-Secret-2"), 401);
    assert_eq!(
        stored_formats(&server, "pat@example.org"),
        [authcore_core::HashFormat::RedisPrehash]
    );
    assert_eq!(sign_in(addr, "pat@example.org", "pat-Secret-1"), 200);
    // Upgraded to a plain argon2id hash at the first sign-in.
    assert_eq!(
        stored_formats(&server, "pat@example.org"),
        [authcore_core::HashFormat::Argon2]
    );
    assert_eq!(sign_in(addr, "PAT@example.org", "pat-Secret-1"), 200);

    // PUT with a pre-hash, computed over the e-mail as it is after the update.
    let prehash = authcore_core::redis_prehash("pat2@example.org", CLUSTER, "new-Secret-3");
    let body = serde_json::json!({
        "email": "pat2@example.org", "password": prehash, "password_hash_method": "1",
        "email_alerts": false
    });
    let (status, user) = request(
        addr,
        "PUT",
        &format!("/v1/users/{uid}"),
        Some(&token),
        &body,
    );
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        stored_formats(&server, "pat2@example.org"),
        [authcore_core::HashFormat::RedisPrehash]
    );
    assert!(!contains(&database_bytes(&server), &prehash));
    assert_eq!(sign_in(addr, "pat2@example.org", "pat-Secret-1"), 401);
    assert_eq!(sign_in(addr, "pat2@example.org", "new-Secret-3"), 200);
    assert_eq!(
        stored_formats(&server, "pat2@example.org"),
        [authcore_core::HashFormat::Argon2]
    );
}

#[test]
fn bad_methods_prehashes_and_unknown_fields_are_400() {
    let server = start();
    let addr = &server.addr;
    let token = admin_token(addr);
    let prehash = authcore_core::redis_prehash("q@example.org", CLUSTER, "q-Secret-1");
    let base =
        serde_json::json!({"email": "q@example.org", "password": prehash, "role": "db_viewer"});
    let with = |extra: serde_json::Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    for (body, needle) in [
        (
            with(serde_json::json!({"password_hash_method": "2"})),
            "password_hash_method",
        ),
        (
            with(serde_json::json!({"password_hash_method": ""})),
            "password_hash_method",
        ),
        (
            with(serde_json::json!({"password_hash_method": 1})),
            "invalid type",
        ),
        (
            serde_json::json!({"email": "q@example.org", "password": "not-hex", "role": "db_viewer", "password_hash_method": "1"}),
            "64 hex",
        ),
        (with(serde_json::json!({"role_uids": [1]})), "role_uids"),
        (
            with(serde_json::json!({"favourite_colour": "blue"})),
            "favourite_colour",
        ),
    ] {
        let (status, answer) = request(addr, "POST", "/v1/users", Some(&token), &body);
        assert_eq!(status, 400, "{body} -> {answer}");
        let text = answer.to_string();
        assert!(text.contains(needle), "{body} -> {text}");
        assert!(
            !text.contains(&prehash[..16]),
            "no password in the answer: {text}"
        );
    }
    // Nothing was created by the refused requests.
    assert_eq!(sign_in(addr, "q@example.org", "q-Secret-1"), 401);

    for (body, needle) in [
        (
            serde_json::json!({"password_hash_method": "0", "password": prehash}),
            "password_hash_method",
        ),
        (serde_json::json!({"role_uids": [1]}), "role_uids"),
        (serde_json::json!({"nmae": "typo"}), "nmae"),
    ] {
        let (status, answer) = request(addr, "PUT", "/v1/users/1", Some(&token), &body);
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer.to_string().contains(needle), "{body} -> {answer}");
    }
}
