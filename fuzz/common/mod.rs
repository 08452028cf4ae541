//! The bodies of authcore's fuzz targets, shared by the cargo-fuzz binaries in
//! `fuzz/fuzz_targets/` and by the root package's `tests/fuzz_corpus_replay.rs`, which runs
//! every committed corpus input through them on the stable toolchain.
//!
//! Each body takes the raw fuzzer input and panics (through `assert!`) when a promise is
//! broken: a crash, a panic inside authcore, or a wrong answer by an independent check.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, OnceLock};

use authcore_core::http::{self, ApiResponse, RequestParts};
use authcore_core::secrecy::{ExposeSecret, SecretSlice};
use authcore_core::time::OffsetDateTime;
use authcore_core::{
    Argon2Params, Authenticator, Claims, Clock, CreateUser, Error, HashingConfig, Key, KeyRing,
    Password, PasswordComplexity, PasswordHash, Role, TokenConfig, TokenIssuer, Ttl, User, UserId,
    UserStatus,
};
use base64::Engine as _;

/// The fixed "now" of every fixture: 2026-06-01 12:00 UTC. Tokens in the committed corpora
/// were minted at this instant with deterministic keys, so they stay valid on replay.
pub const NOW_UNIX: i64 = 1_780_315_200;

/// The fixture's HS256 secret (test only).
pub const HS256_SECRET: [u8; 32] = [0x5a; 32];
/// Test-only Ed25519 key (`crates/authcore-core/testdata`).
pub const ED25519_PEM: &[u8] = include_bytes!("../../crates/authcore-core/testdata/ed25519.pem");
/// Test-only P-256 key (`crates/authcore-core/testdata`).
pub const P256_PEM: &[u8] = include_bytes!("../../crates/authcore-core/testdata/p256.pem");

/// The administrator of the HTTP fixture.
pub const ADMIN_EMAIL: &str = "admin@example.org";
/// Their password (never in a response).
pub const ADMIN_PASSWORD: &str = "Adm1n-fuzz-pass!";
/// A viewer of the HTTP fixture.
pub const VIEWER_EMAIL: &str = "viewer@example.org";
/// Their password.
pub const VIEWER_PASSWORD: &str = "Vi3wer-fuzz-pass!";

/// 2026-06-01 12:00 UTC.
#[must_use]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW_UNIX).expect("a valid timestamp")
}

/// A clock stopped at [`now`].
#[derive(Debug)]
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        now()
    }
}

// ---------------------------------------------------------------------------------------
// Token verification
// ---------------------------------------------------------------------------------------

/// The token fixture: a verifier holding one key of each type (kids `hs`, `ed`, `es`), one
/// issuer per key, and tokens each of them minted at [`now`].
#[derive(Debug)]
pub struct TokenFixture {
    /// Verifies with all three keys.
    pub verifier: TokenIssuer,
    /// `(kid, issuer signing with that key alone)`.
    pub minters: Vec<(&'static str, TokenIssuer)>,
    /// One token per key, minted for [`token_user`] at [`now`] with the default ttl.
    pub valid: Vec<(&'static str, String)>,
}

/// The HS256 key of the fixtures.
pub fn hs256_key(kid: &str, secret: &[u8]) -> Key {
    Key::hs256(kid, &SecretSlice::from(secret.to_vec())).expect("a 32-byte secret")
}

/// The user the token fixture mints for.
#[must_use]
pub fn token_user() -> User {
    User {
        uid: UserId::new("7"),
        email: "ann@example.org".into(),
        name: Some("Ann".into()),
        role: Role::new("db_viewer"),
        status: UserStatus::Active,
        credentials: authcore_core::Credentials::External,
    }
}

fn single(key: Key) -> TokenIssuer {
    TokenIssuer::new(
        KeyRing::new(key).expect("signing key"),
        TokenConfig::default(),
    )
    .expect("issuer")
}

/// The shared token fixture.
pub fn tokens() -> &'static TokenFixture {
    static FIXTURE: OnceLock<TokenFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let ring = KeyRing::new(hs256_key("hs", &HS256_SECRET))
            .and_then(|r| r.with_verify_only(Key::from_private_pem("ed", ED25519_PEM)?))
            .and_then(|r| r.with_verify_only(Key::from_private_pem("es", P256_PEM)?))
            .expect("key ring");
        let verifier = TokenIssuer::new(ring, TokenConfig::default()).expect("issuer");
        let minters = vec![
            ("hs", single(hs256_key("hs", &HS256_SECRET))),
            (
                "ed",
                single(Key::from_private_pem("ed", ED25519_PEM).expect("ed25519")),
            ),
            (
                "es",
                single(Key::from_private_pem("es", P256_PEM).expect("p256")),
            ),
        ];
        let valid = minters
            .iter()
            .map(|(kid, m)| {
                let t = m.mint(&token_user(), now(), Ttl::DEFAULT).expect("mint");
                (*kid, t.token)
            })
            .collect();
        TokenFixture {
            verifier,
            minters,
            valid,
        }
    })
}

/// Claims without their `jti` (random per mint) and `auth_time` (absent, so 0, from the
/// committed corpus tokens minted before the session claims): what the fixture's keys have
/// ever signed.
fn signed_shape(c: &Claims) -> Claims {
    let mut c = c.clone();
    c.jti.clear();
    c.auth_time = 0;
    c
}

/// Checks that verifying `token` either fails with exactly [`Error::InvalidToken`] or
/// yields claims that one of the fixture's keys signed (no forgery), valid at [`now`].
pub fn check_token(token: &str) {
    let fx = tokens();
    match fx.verifier.verify(token, now()) {
        Err(Error::InvalidToken) => {}
        Err(other) => panic!("a token was refused with {other:?}, not InvalidToken"),
        Ok(claims) => {
            let reference = fx
                .verifier
                .verify(&fx.valid[0].1, now())
                .expect("the fixture token verifies");
            assert_eq!(
                signed_shape(&claims),
                signed_shape(&reference),
                "accepted claims that no fixture key signed"
            );
            assert_eq!(claims.iss, "authcore");
            let leeway = i64::from(TokenConfig::default().leeway_secs);
            assert!(NOW_UNIX < claims.exp + leeway && claims.nbf <= NOW_UNIX + leeway);
        }
    }
}

/// Fuzz target `token_verify`: the input, as text (lossy), verified with every key type.
pub fn token_verify(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_token(&text);
    // A token is ASCII: bytes past a valid UTF-8 prefix must not change the verdict into an
    // acceptance of a different token.
    if let Ok(s) = std::str::from_utf8(data) {
        check_token(s.trim());
    }
}

// ---------------------------------------------------------------------------------------
// Authorization header
// ---------------------------------------------------------------------------------------

/// Fuzz target `authorization_header`: [`http::parse_authorization`] never panics, fails
/// only with `invalid_request`, `unauthorized` or (a token that is not UTF-8) an invalid
/// token, and what it returns round-trips.
pub fn authorization_header(data: &[u8]) {
    match http::parse_authorization(data) {
        Err(Error::InvalidRequest(_) | Error::Unauthorized | Error::InvalidToken) => {}
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(http::Authorization::Token(token)) => {
            assert!(!token.is_empty());
            assert!(!token.contains(|c: char| c.is_ascii_whitespace()));
            let text = std::str::from_utf8(data).expect("accepted input is UTF-8");
            assert!(text.contains(&token));
            // The same token under the other scheme parses to the same token.
            for scheme in ["JWT", "bearer"] {
                match http::parse_authorization(format!("{scheme} {token}").as_bytes()) {
                    Ok(http::Authorization::Token(t)) => assert_eq!(t, token),
                    other => panic!("round trip failed: {other:?}"),
                }
            }
        }
        Ok(http::Authorization::Basic { username, password }) => {
            assert!(
                !username.contains(':'),
                "the username ends at the first colon"
            );
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", password.expose_secret()));
            match http::parse_authorization(format!("Basic {encoded}").as_bytes()) {
                Ok(http::Authorization::Basic {
                    username: u,
                    password: p,
                }) => {
                    assert_eq!(u, username);
                    assert_eq!(p.expose_secret(), password.expose_secret());
                }
                other => panic!("round trip failed: {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Stored hashes
// ---------------------------------------------------------------------------------------

/// Fuzz target `stored_hash`: parsing a stored hash (what a database row holds) never
/// panics; a hash the engine would compute is an argon2 PHC string whose parameters are
/// within the cap it was given, a tighter cap never admits more, and the full format check
/// of every legacy format agrees with format detection.
pub fn stored_hash(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let hash = PasswordHash::new(text.as_ref());
    let under_max = Argon2Params::of_stored_hash(&hash, &Argon2Params::MAX);
    let under_default = Argon2Params::of_stored_hash(&hash, &Argon2Params::DEFAULT);
    let under_min = Argon2Params::of_stored_hash(&hash, &Argon2Params::MIN);
    if let Some(p) = under_max {
        assert!(p.within(&Argon2Params::MAX));
        assert!(text.starts_with("$argon2"), "only argon2 is computed");
    }
    if let Some(p) = under_default {
        assert!(p.within(&Argon2Params::DEFAULT));
        assert_eq!(
            under_max,
            Some(p),
            "a tighter cap admitted a hash the wider one refused"
        );
    }
    if let Some(p) = under_min {
        assert!(p.within(&Argon2Params::MIN));
        assert_eq!(under_default, Some(p));
    }
    // Every format on main (argon2 PHC, the Redis pre-hash, bcrypt, PBKDF2, scrypt, SHA-crypt,
    // yescrypt): a full check names the format its prefix announces, or refuses with
    // `invalid_request`, never anything else.
    match authcore_core::check_hash_format(&text) {
        Ok(format) => assert_eq!(authcore_core::HashFormat::detect(&text), Some(format)),
        Err(Error::InvalidRequest(_)) => {}
        Err(other) => panic!("check_hash_format answered {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// LDAP escaping and DN parsing
// ---------------------------------------------------------------------------------------

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Decodes `\XX` escapes; `None` when a backslash is not followed by two hex digits.
fn unescape_hex(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let hi = hex_digit(*b.get(i + 1)?)?;
            let lo = hex_digit(*b.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Characters left after removing every `\XX` escape.
fn unescaped_chars(s: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks both escapers and the DN parser on one value.
pub fn check_ldap_value(value: &str) {
    // Filter (RFC 4515): no unescaped `*`, `(`, `)`, `\` or NUL, and it decodes back.
    let filter = authcore_ldap::escape_filter_value(value);
    assert!(
        !unescaped_chars(&filter)
            .iter()
            .any(|c| matches!(c, '*' | '(' | ')' | '\0')),
        "unescaped filter special in {filter:?}"
    );
    assert_eq!(
        unescape_hex(&filter).as_deref(),
        Some(value),
        "filter round trip"
    );

    // DN value (RFC 4514): no unescaped special, no leading space or `#`, no trailing space,
    // it decodes back, and the DN parser reads it as exactly that one value.
    let dn_value = authcore_ldap::escape_dn_value(value);
    let plain = unescaped_chars(&dn_value);
    assert!(
        !plain
            .iter()
            .any(|c| matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '=' | '\0')),
        "unescaped DN special in {dn_value:?}"
    );
    assert!(!dn_value.starts_with(' ') && !dn_value.starts_with('#'));
    assert!(!dn_value.ends_with(' '));
    assert_eq!(
        unescape_hex(&dn_value).as_deref(),
        Some(value),
        "DN round trip"
    );
    let dn = format!("uid={dn_value},dc=example");
    assert_eq!(
        authcore_ldap::normalize_dn(&dn),
        Some(format!(
            "uid={},dc=example",
            authcore_ldap::escape_dn_value(&value.to_lowercase())
        )),
        "the escaped value is not read back as one value: {dn:?}"
    );

    // DN parsing of the raw text: canonical forms are fixed points.
    if let Some(canonical) = authcore_ldap::normalize_dn(value) {
        assert_eq!(
            authcore_ldap::normalize_dn(&canonical).as_deref(),
            Some(canonical.as_str()),
            "canonical DN is not canonical: {value:?}"
        );
    }
}

/// Fuzz target `ldap_escape_dn`.
pub fn ldap_escape_dn(data: &[u8]) {
    check_ldap_value(&String::from_utf8_lossy(data));
}

// ---------------------------------------------------------------------------------------
// Password complexity
// ---------------------------------------------------------------------------------------

/// An independent reading of Redis's complexity rules (see `PasswordComplexity`).
fn complex_enough(password: &str, email: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    let lower = password.to_lowercase();
    let email = email.to_lowercase();
    let reversed: String = email.chars().rev().collect();
    chars.len() >= 8
        && chars.iter().any(|c| c.is_uppercase())
        && chars.iter().any(|c| c.is_lowercase())
        && chars.iter().any(char::is_ascii_digit)
        && chars
            .iter()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
        && (email.is_empty() || !(lower.contains(&email) || lower.contains(&reversed)))
        && !chars.windows(4).any(|w| w.iter().all(|c| *c == w[0]))
}

/// Fuzz target `password_complexity`: the input is `password NUL email` (lossy UTF-8).
pub fn password_complexity(data: &[u8]) {
    let (pw, email) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let pw = String::from_utf8_lossy(pw);
    let email = String::from_utf8_lossy(email);
    assert!(
        PasswordComplexity { enabled: false }
            .check(&pw, &email)
            .is_ok()
    );
    let got = PasswordComplexity { enabled: true }.check(&pw, &email);
    match (&got, complex_enough(&pw, &email)) {
        (Ok(()), true) | (Err(Error::PasswordNotComplex(_)), false) => {}
        (got, want) => panic!("complexity check {got:?}, the reference says {want}"),
    }
}

// ---------------------------------------------------------------------------------------
// LDAP configuration JSON
// ---------------------------------------------------------------------------------------

/// Fuzz target `ldap_config`: parsing never panics; an accepted configuration builds a
/// store (no connection is made) and its `Debug` never shows `bind_pass`.
pub fn ldap_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = authcore_ldap::LdapConfig::from_json_str(text) else {
        return;
    };
    config
        .validate()
        .expect("an accepted configuration validates");
    // `Debug` does not depend on `bind_pass` (the password may also occur in another field,
    // so searching the output for it is not the check).
    if config.bind_pass.is_some() {
        let mut other = config.clone();
        other.bind_pass = Some(authcore_core::secrecy::SecretString::from(
            "another-password".to_owned(),
        ));
        assert_eq!(
            format!("{config:?}"),
            format!("{other:?}"),
            "bind_pass in Debug output"
        );
    }
    assert!(authcore_ldap::LdapStore::new(config).is_ok());
}

// ---------------------------------------------------------------------------------------
// HTTP dispatch
// ---------------------------------------------------------------------------------------

/// The HTTP fixture: an authenticator on the in-memory store with an admin and a viewer,
/// the clock stopped at [`now`], the HS256 key `hs` of the token fixture.
#[derive(Debug)]
pub struct HttpFixture {
    /// Runs the endpoint futures.
    pub runtime: tokio::runtime::Runtime,
    /// The authenticator.
    pub auth: Authenticator,
}

/// The shared HTTP fixture.
pub fn http_fixture() -> &'static HttpFixture {
    static FIXTURE: OnceLock<HttpFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Timers on: a sign-in that finds the account's guess budget held by attempts in
        // flight (the corpus replay runs its tests in parallel on these fixture users) waits
        // for them to settle with a timeout.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let store = Arc::new(authcore_memory::MemoryStore::new());
        let auth = Authenticator::builder()
            .store(store.clone())
            .lockout_store(store)
            .hashing(HashingConfig::insecure_fast())
            .keys(KeyRing::new(hs256_key("hs", &HS256_SECRET)).expect("ring"))
            .clock(Arc::new(FixedClock))
            .build()
            .expect("authenticator");
        runtime.block_on(async {
            for (email, password, role) in [
                (ADMIN_EMAIL, ADMIN_PASSWORD, Role::ADMIN),
                (VIEWER_EMAIL, VIEWER_PASSWORD, Role::DB_VIEWER),
            ] {
                auth.create_user_unchecked(CreateUser {
                    email: email.into(),
                    password: Password::from(password.to_owned()),
                    name: None,
                    role,
                })
                .await
                .expect("fixture user");
            }
        });
        HttpFixture { runtime, auth }
    })
}

/// A token for a fixture user (signed in at [`now`]).
pub fn http_token(email: &str, password: &str) -> String {
    let fx = http_fixture();
    fx.runtime
        .block_on(
            fx.auth
                .authorize(email, &Password::from(password.to_owned()), Ttl::DEFAULT),
        )
        .expect("fixture sign-in")
        .token
}

/// Routes one request the way every adapter does: the body limit, then the core's
/// [`authcore_core::http::find_route`] (404, 405, `{uid}`) and the endpoint.
pub async fn dispatch(
    auth: &Authenticator,
    method: &str,
    target: &str,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
) -> ApiResponse {
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let matched = match http::find_route(auth, method, path) {
        Ok(matched) => matched,
        Err(res) => return res,
    };
    if matched.reads_body() && body.len() > http::DEFAULT_BODY_LIMIT {
        return matched.payload_too_large(http::DEFAULT_BODY_LIMIT);
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| *v)
    };
    let req = RequestParts {
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: if matched.reads_body() { body } else { &[] },
        query: None,
    };
    matched.respond(auth, req).await
}

/// `(method, target, headers, body)` of a fuzz input.
pub type SplitRequest<'a> = (String, String, Vec<(&'a [u8], &'a [u8])>, &'a [u8]);

/// Splits a fuzz input into `METHOD SP TARGET`, header lines `Name: value` up to an empty
/// line, and the body.
pub fn split_request(data: &[u8]) -> SplitRequest<'_> {
    let mut rest = data;
    let mut line = || {
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let l = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or(&[]);
        l.strip_suffix(b"\r").unwrap_or(l)
    };
    let request_line = String::from_utf8_lossy(line()).into_owned();
    let (method, target) = request_line
        .split_once(' ')
        .map_or((request_line.clone(), String::new()), |(m, t)| {
            (m.to_owned(), t.to_owned())
        });
    let mut headers = Vec::new();
    loop {
        let l = line();
        if l.is_empty() {
            break;
        }
        let (name, value) = match l.iter().position(|b| *b == b':') {
            Some(i) => (&l[..i], &l[i + 1..]),
            None => (l, &[][..]),
        };
        headers.push((name.trim_ascii(), value.trim_ascii()));
    }
    (method, target, headers, rest)
}

/// Fuzz target `http_dispatch`: any request gets a well-formed answer: never a 500, an
/// error body `{"error_code","message"}` on every error, `WWW-Authenticate` on every 401,
/// JSON on every success, and never a fixture password in the body.
pub fn http_dispatch(data: &[u8]) {
    let fx = http_fixture();
    let (method, target, headers, body) = split_request(data);
    let res = fx
        .runtime
        .block_on(dispatch(&fx.auth, &method, &target, &headers, body));
    check_response(&res);
}

/// The invariants of every response.
pub fn check_response(res: &ApiResponse) {
    assert!(
        (200..300).contains(&res.status) || (400..500).contains(&res.status) || res.status == 503,
        "status {}",
        res.status
    );
    let json: serde_json::Value =
        serde_json::from_slice(&res.body).expect("every response body is JSON");
    if res.status >= 400 {
        let code = json["error_code"].as_str().expect("error_code");
        assert!(!code.is_empty());
        assert!(json["message"].is_string());
    }
    if res.status == 401 {
        assert!(
            res.header("www-authenticate").is_some(),
            "401 without WWW-Authenticate"
        );
    }
    if res.status == 503 {
        assert!(
            res.header("retry-after").is_some(),
            "503 without Retry-After"
        );
    }
    let body = String::from_utf8_lossy(&res.body);
    for secret in [ADMIN_PASSWORD, VIEWER_PASSWORD] {
        assert!(!body.contains(secret), "a password in a response");
    }
}

// ---------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------

/// The seed inputs of each target (written into `fuzz/corpus/<target>/` once, and replayed
/// with the corpora).
pub fn seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let fx = tokens();
    let mut token_seeds: Vec<Vec<u8>> = fx
        .valid
        .iter()
        .map(|(_, t)| t.as_bytes().to_vec())
        .collect();
    token_seeds.push(b"eyJhbGciOiJub25lIn0.e30.".to_vec());
    token_seeds.push(b"a.b.c".to_vec());

    let admin = http_token(ADMIN_EMAIL, ADMIN_PASSWORD);
    let viewer = http_token(VIEWER_EMAIL, VIEWER_PASSWORD);
    let basic = b64.encode(format!("{ADMIN_EMAIL}:{ADMIN_PASSWORD}"));
    let http_seeds = vec![
        format!(
            "POST /v1/users/authorize\ncontent-type: application/json\n\n{{\"username\":\"{VIEWER_EMAIL}\",\"password\":\"{VIEWER_PASSWORD}\",\"ttl\":60}}"
        ),
        format!("POST /v1/users/authorize\nauthorization: Basic {basic}\n\n"),
        format!("POST /v1/users/refresh_jwt\nauthorization: JWT {viewer}\n\n{{\"ttl\":120}}"),
        format!("GET /v1/users\nauthorization: Bearer {admin}\n\n"),
        format!("GET /v1/users/1\nauthorization: JWT {admin}\n\n"),
        format!(
            "POST /v1/users\nauthorization: JWT {admin}\ncontent-type: application/json\n\n{{\"email\":\"new@example.org\",\"password\":\"N3w-user-pass!\",\"role\":\"db_member\"}}"
        ),
        format!(
            "PUT /v1/users/2\nauthorization: JWT {admin}\ncontent-type: application/json\n\n{{\"name\":\"Vi\"}}"
        ),
        format!("DELETE /v1/users/99\nauthorization: JWT {admin}\n\n"),
        format!(
            "POST /v1/users/password\ncontent-type: application/json\n\n{{\"username\":\"{VIEWER_EMAIL}\",\"old_password\":\"{VIEWER_PASSWORD}\",\"new_password\":\"An0ther-pass!\"}}"
        ),
        "GET /v1/openapi.json\n\n".to_owned(),
        "PATCH /v1/users\n\n".to_owned(),
        "GET /nowhere\n\n".to_owned(),
    ];

    let ldap_json = r#"{"uris":["ldap://127.0.0.1:389"],"bind_dn":"cn=admin,dc=example,dc=org","bind_pass":"s3cret-bind","user_dn_template":"uid=%u,ou=People,dc=example,dc=org","dn_group_attr":"memberOf","ldap_mappings":[{"dn":"cn=admins,ou=Groups,dc=example,dc=org","role":"admin"}],"directory_timeout_s":5,"cache_ttl":60}"#;
    let ldap_query = r#"{"uris":["ldaps://ldap.example.org:636"],"starttls":false,"user_dn_query":{"base":"ou=People,dc=example,dc=org","filter":"(mail=%u)","scope":"subtree"},"dn_group_query":{"base":"ou=Groups,dc=example,dc=org","filter":"(member=%D)","scope":"one"}}"#;

    let strings = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
    vec![
        ("token_verify", token_seeds),
        (
            "http_dispatch",
            http_seeds.into_iter().map(String::into_bytes).collect(),
        ),
        (
            "authorization_header",
            vec![
                format!("Basic {basic}").into_bytes(),
                format!("Bearer {admin}").into_bytes(),
                b"JWT a.b.c".to_vec(),
                b"Digest x=y".to_vec(),
                b"basic YTo=".to_vec(),
            ],
        ),
        (
            "stored_hash",
            strings(&[
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4Lb1Z1q9oZ6cO0T2M7r2b4d4H6m0m5wB3H1p2u3F4zQ",
                "$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
                "$argon2d$m=4194304,t=1,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
                "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
                "$pbkdf2-sha256$29000$N2bMeY8x5jwHwNgb4xxj7A$jPRf2BPrUxaUtpw3HoUoOQgC/WNtbWyxvVt/Ez9Bcdk",
                "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
                "$6$rounds=5000$saltsalt$abc",
                "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
                "pbkdf2_sha256$600000$salt$hash",
            ]),
        ),
        (
            "ldap_escape_dn",
            strings(&[
                "*)(uid=*",
                "alice,ou=admins",
                " #lead and trail ",
                "CN=Steve Kille , O=Isode Limited,C=GB",
                "OU=Sales+CN=J.  Smith,DC=example,DC=net",
                "1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com",
                r"CN=Lu\C4\8Di\C4\87",
                "Lu\u{010d}i\u{0107}\0\\",
            ]),
        ),
        (
            "password_complexity",
            strings(&[
                "Correct-h0rse",
                "aaaaBB11!!\0x@y.z",
                "Abc1!ann@example.org\0ann@example.org",
                "Abc1!gro.elpmaxe@nna\0ann@example.org",
                "ÄÖÜ äöü 1 ! x",
            ]),
        ),
        ("ldap_config", strings(&[ldap_json, ldap_query, "{}", "[]"])),
    ]
}
