//! The hostile-token corpus (`tests/testdata/hostile_tokens.jsonl`), run against every key
//! type (HS256, EdDSA, ES256): each line is a recipe (header, claims, signing key, mutations)
//! and an expected outcome. Every hostile token must be refused with exactly
//! `Error::InvalidToken` by the verifier, by a verifier built from the published JWKS alone
//! (asymmetric keys), and through the HTTP layer with 401 `unauthorized` and
//! `WWW-Authenticate`. Control lines (`"expect":"valid"`) prove the recipes build otherwise
//! valid tokens, so a refusal is caused by the one thing each line changes.
//!
//! Also: proptests that mint real tokens with every key and flip one byte, and a token size
//! cap that keeps verification from allocating in proportion to the input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use authcore_core::http::{self, RequestParts};
use authcore_core::secrecy::SecretSlice;
use authcore_core::time::OffsetDateTime;
use authcore_core::{
    AttemptOutcome, Authenticator, Claims, Clock, Credentials, Error, HashingConfig, Key, KeyRing,
    LockoutPolicy, LockoutState, LockoutStore, Reservation, ReservationPolicy, Reserve, Role,
    TokenConfig, TokenIssuer, Ttl, User, UserId, UserStatus, UserStore, async_trait,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NOW: i64 = 1_780_315_200; // 2026-06-01 12:00 UTC
const ED25519_PEM: &[u8] = include_bytes!("../testdata/ed25519.pem");
const ED25519_OLD_PEM: &[u8] = include_bytes!("../testdata/ed25519-old.pem");
const P256_PEM: &[u8] = include_bytes!("../testdata/p256.pem");
const HS_SECRET: [u8; 32] = [0x11; 32];
const CORPUS: &str = include_str!("testdata/hostile_tokens.jsonl");
const KIDS: [&str; 3] = ["hs", "ed", "es"];

#[derive(Debug)]
struct Fixed(i64);
impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0).unwrap()
    }
}

#[derive(Debug)]
struct NoUsers;
#[async_trait]
impl UserStore for NoUsers {
    async fn find_by_username(&self, _: &str) -> authcore_core::Result<Option<User>> {
        Ok(None)
    }
    async fn find_by_uid(&self, _: &UserId) -> authcore_core::Result<Option<User>> {
        Ok(None)
    }
}
#[async_trait]
impl authcore_core::SessionStore for NoUsers {
    async fn epoch(&self, _: &UserId) -> authcore_core::Result<u64> {
        Ok(0)
    }
    async fn advance_epoch(&self, _: &UserId) -> authcore_core::Result<u64> {
        Ok(1)
    }
    async fn revoke(
        &self,
        _: &str,
        _: time::OffsetDateTime,
        _: time::OffsetDateTime,
    ) -> authcore_core::Result<()> {
        Ok(())
    }
    async fn is_revoked(&self, _: &str) -> authcore_core::Result<bool> {
        Ok(false)
    }
    async fn purge_revoked(&self, _: time::OffsetDateTime, _: u32) -> authcore_core::Result<u64> {
        Ok(0)
    }
}

#[async_trait]
impl LockoutStore for NoUsers {
    fn sessions(&self) -> Option<&dyn authcore_core::SessionStore> {
        Some(self)
    }

    async fn state(&self, _: &UserId) -> authcore_core::Result<Option<LockoutState>> {
        Ok(None)
    }
    async fn record_failure(
        &self,
        _: &UserId,
        now: OffsetDateTime,
        p: &LockoutPolicy,
    ) -> authcore_core::Result<LockoutState> {
        Ok(p.next_state(None, now))
    }
    async fn reserve(
        &self,
        _: &Reservation,
        _: &LockoutPolicy,
        _: &ReservationPolicy,
    ) -> authcore_core::Result<Reserve> {
        Ok(Reserve::Granted)
    }
    async fn settle(
        &self,
        _: &Reservation,
        _: AttemptOutcome,
        _: OffsetDateTime,
        _: &LockoutPolicy,
    ) -> authcore_core::Result<Option<LockoutState>> {
        Ok(None)
    }
    async fn clear(&self, _: &UserId) -> authcore_core::Result<()> {
        Ok(())
    }
}

fn hs(kid: &str) -> Key {
    Key::hs256(kid, &SecretSlice::from(HS_SECRET.to_vec())).unwrap()
}

fn ring() -> KeyRing {
    KeyRing::new(hs("hs"))
        .unwrap()
        .with_verify_only(Key::from_private_pem("ed", ED25519_PEM).unwrap())
        .unwrap()
        .with_verify_only(Key::from_private_pem("es", P256_PEM).unwrap())
        .unwrap()
}

fn at(offset: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW + offset).unwrap()
}

/// The verifiers a token meets: the server's ring, and (asymmetric kids) a client holding
/// only the published JWKS.
struct Verifiers {
    server: TokenIssuer,
    jwks_only: TokenIssuer,
    published: Vec<Jwk>,
}

fn verifiers() -> Verifiers {
    let server = TokenIssuer::new(ring(), TokenConfig::default()).unwrap();
    let published = server.keys().jwks().keys;
    assert_eq!(published.len(), 2, "ed and es are published, hs never");
    let mut jwks_ring =
        KeyRing::new(Key::hs256("unrelated", &SecretSlice::from(vec![9; 32])).unwrap()).unwrap();
    for jwk in &published {
        jwks_ring = jwks_ring
            .with_verify_only(Key::from_public_jwk(jwk).unwrap())
            .unwrap();
    }
    Verifiers {
        jwks_only: TokenIssuer::new(jwks_ring, TokenConfig::default()).unwrap(),
        server,
        published,
    }
}

fn authenticator() -> Authenticator {
    let store = Arc::new(NoUsers);
    Authenticator::builder()
        .store(store.clone())
        .lockout_store(store)
        .hashing(HashingConfig::insecure_fast())
        .keys(ring())
        .clock(Arc::new(Fixed(NOW)))
        .build()
        .unwrap()
}

fn alg_of(kid: &str) -> (&'static str, Algorithm) {
    match kid {
        "hs" => ("HS256", Algorithm::HS256),
        "ed" => ("EdDSA", Algorithm::EdDSA),
        _ => ("ES256", Algorithm::ES256),
    }
}

fn encoding_key(kid: &str) -> EncodingKey {
    match kid {
        "hs" => EncodingKey::from_secret(&HS_SECRET),
        "ed" => EncodingKey::from_ed_pem(ED25519_PEM).unwrap(),
        _ => EncodingKey::from_ec_pem(P256_PEM).unwrap(),
    }
}

fn sign(input: &str, key: &EncodingKey, alg: Algorithm) -> String {
    jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap()
}

fn other_kid(kid: &str) -> &'static str {
    match kid {
        "hs" => "ed",
        "ed" => "es",
        _ => "hs",
    }
}

struct Ctx<'a> {
    kid: &'a str,
    published: &'a [Jwk],
}

impl Ctx<'_> {
    fn jwk(&self) -> &Jwk {
        self.published
            .iter()
            .find(|j| j.common.key_id.as_deref() == Some(self.kid))
            .unwrap()
    }

    fn jwk_json(&self) -> Value {
        serde_json::to_value(self.jwk()).unwrap()
    }

    fn foreign_x(&self) -> String {
        let jwk = Jwk::from_encoding_key(
            &EncodingKey::from_ed_pem(ED25519_OLD_PEM).unwrap(),
            Algorithm::EdDSA,
        )
        .unwrap();
        serde_json::to_value(jwk).unwrap()["x"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn text(&self, s: &str) -> String {
        let (alg, _) = alg_of(self.kid);
        s.replace("{KID_UPPER}", &self.kid.to_uppercase())
            .replace("{OTHER_KID}", other_kid(self.kid))
            .replace("{KID}", self.kid)
            .replace("{ALG}", alg)
            .replace("{FOREIGN_X}", &self.foreign_x())
            .replace("{NOW}", &NOW.to_string())
            .replace("{EXP}", &(NOW + 300).to_string())
    }

    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if let Some(rest) = s.strip_prefix("@NOW") {
                    let offset: i64 = if rest.is_empty() {
                        0
                    } else {
                        rest.trim_start_matches('+').parse().unwrap()
                    };
                    json!(NOW + offset)
                } else if let Some(n) = s.strip_prefix("@PAD") {
                    Value::String("x".repeat(n.parse().unwrap()))
                } else {
                    Value::String(self.text(s))
                }
            }
            Value::Array(a) => Value::Array(a.iter().map(|v| self.value(v)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), self.value(v))).collect())
            }
            other => other.clone(),
        }
    }
}

fn default_claims(jti: &str) -> Map<String, Value> {
    let Value::Object(m) = json!({
        "sub": "7", "username": "ann@example.org", "role": "db_viewer",
        "iat": NOW, "nbf": NOW, "exp": NOW + 300, "jti": jti, "iss": "authcore",
    }) else {
        unreachable!()
    };
    m
}

/// A built case: the token bytes (not always UTF-8) and what is expected of it.
struct Built {
    bytes: Vec<u8>,
}

fn flip_in_part(token: &str, part: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut decoded = URL_SAFE_NO_PAD.decode(&parts[part]).unwrap();
    let i = decoded.len() / 2;
    decoded[i] ^= 0x01;
    parts[part] = URL_SAFE_NO_PAD.encode(decoded);
    parts.join(".")
}

fn build(case: &Value, ctx: &Ctx<'_>) -> Built {
    let kid = ctx.kid;
    let (alg_name, alg) = alg_of(kid);
    if let Some(lit) = case.get("literal") {
        return Built {
            bytes: lit.as_str().unwrap().as_bytes().to_vec(),
        };
    }
    if let Some(rep) = case.get("literal_repeat") {
        let s = rep[0]
            .as_str()
            .unwrap()
            .repeat(usize::try_from(rep[1].as_u64().unwrap()).unwrap());
        return Built {
            bytes: s.into_bytes(),
        };
    }
    let header = if let Some(raw) = case.get("header_raw") {
        ctx.text(raw.as_str().unwrap())
    } else if let Some(h) = case.get("header") {
        serde_json::to_string(&ctx.value(h)).unwrap()
    } else if let Some(n) = case.get("kid_repeat") {
        let kid = "a".repeat(usize::try_from(n.as_u64().unwrap()).unwrap());
        json!({"alg": alg_name, "typ": "JWT", "kid": kid}).to_string()
    } else {
        json!({"alg": alg_name, "typ": "JWT", "kid": kid}).to_string()
    };
    let payload: Vec<u8> = if let Some(hex) = case.get("payload_bytes_hex") {
        let hex = hex.as_str().unwrap();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    } else if let Some(raw) = case.get("payload_raw") {
        ctx.text(raw.as_str().unwrap()).into_bytes()
    } else {
        let mut claims = default_claims("jti-1");
        if let Some(Value::Object(patch)) = case.get("claims") {
            for (k, v) in patch {
                if v.is_null() {
                    claims.remove(k);
                } else {
                    claims.insert(k.clone(), ctx.value(v));
                }
            }
        }
        serde_json::to_vec(&claims).unwrap()
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&header),
        URL_SAFE_NO_PAD.encode(&payload)
    );
    let sign_with = case
        .get("sign_with")
        .and_then(Value::as_str)
        .unwrap_or("self");
    let signature = match sign_with {
        "self" => sign(&input, &encoding_key(kid), alg),
        "none" => String::new(),
        "other_secret" => sign(
            &input,
            &EncodingKey::from_secret(&[0x22; 32]),
            Algorithm::HS256,
        ),
        "hs512_same_secret" => sign(
            &input,
            &EncodingKey::from_secret(&HS_SECRET),
            Algorithm::HS512,
        ),
        "foreign_ed" => sign(
            &input,
            &EncodingKey::from_ed_pem(ED25519_OLD_PEM).unwrap(),
            Algorithm::EdDSA,
        ),
        "other_key_same_header" => {
            let other = other_kid(kid);
            sign(&input, &encoding_key(other), alg_of(other).1)
        }
        "hmac_public_jwk" => {
            let x = ctx.jwk_json()["x"].as_str().unwrap().to_owned();
            sign(
                &input,
                &EncodingKey::from_secret(x.as_bytes()),
                Algorithm::HS256,
            )
        }
        "hmac_public_jwk_json" => {
            let json = ctx.jwk_json().to_string();
            sign(
                &input,
                &EncodingKey::from_secret(json.as_bytes()),
                Algorithm::HS256,
            )
        }
        "hmac_public_raw" => {
            let jwk = ctx.jwk_json();
            let mut raw = Vec::new();
            if jwk.get("y").is_some() {
                raw.push(4);
            }
            for c in ["x", "y"] {
                if let Some(v) = jwk[c].as_str() {
                    raw.extend(URL_SAFE_NO_PAD.decode(v).unwrap());
                }
            }
            sign(&input, &EncodingKey::from_secret(&raw), Algorithm::HS256)
        }
        other if other.starts_with("key:") => {
            let k = &other[4..];
            sign(&input, &encoding_key(k), alg_of(k).1)
        }
        other => panic!("unknown sign_with {other}"),
    };
    let signature = match case.get("signature_from").and_then(Value::as_str) {
        None => signature,
        Some(from) => {
            let jti = if from == "original" { "jti-1" } else { "jti-2" };
            let original = format!(
                "{}.{}",
                URL_SAFE_NO_PAD
                    .encode(json!({"alg": alg_name, "typ": "JWT", "kid": kid}).to_string()),
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&default_claims(jti)).unwrap())
            );
            sign(&original, &encoding_key(kid), alg)
        }
    };
    let mut token = format!("{input}.{signature}");
    let mut bytes = None;
    for op in case
        .get("mutate")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let op = op.as_str().unwrap();
        let (h, rest) = token.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let (h, p, s) = (h.to_owned(), p.to_owned(), s.to_owned());
        token = match op {
            "flip_header" => flip_in_part(&token, 0),
            "flip_payload" => flip_in_part(&token, 1),
            "flip_signature" => flip_in_part(&token, 2),
            "noncanonical_signature" => {
                // The last character carries unused low bits: set one, same decoded bytes.
                let bits = (s.len() * 6) % 8;
                assert!(bits > 0, "signature length leaves no spare bits");
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let last = s.as_bytes()[s.len() - 1];
                let idx = alphabet.iter().position(|c| *c == last).unwrap();
                let changed = alphabet[idx ^ 1] as char;
                format!("{h}.{p}.{}{changed}", &s[..s.len() - 1])
            }
            "pad_signature" => format!("{h}.{p}.{s}=="),
            "pad_payload" => {
                let pad = "=".repeat((4 - p.len() % 4) % 4).to_owned()
                    + if p.len() % 4 == 0 { "====" } else { "" };
                format!("{h}.{p}{pad}.{s}")
            }
            "standard_alphabet_signature" => {
                let std_sig = STANDARD.encode(URL_SAFE_NO_PAD.decode(&s).unwrap());
                let std_sig = std_sig.trim_end_matches('=');
                assert_ne!(std_sig, s, "the signature has no - or _ to swap");
                format!("{h}.{p}.{std_sig}")
            }
            "standard_alphabet_payload" => {
                let std_p = STANDARD.encode(URL_SAFE_NO_PAD.decode(&p).unwrap());
                let std_p = std_p.trim_end_matches('=').to_owned();
                assert_ne!(std_p, p, "the payload has no - or _ to swap");
                format!("{h}.{std_p}.{s}")
            }
            "space_in_payload" => format!("{h}.{} {}.{s}", &p[..4], &p[4..]),
            "newline_in_signature" => format!("{h}.{p}.{}\n{}", &s[..4], &s[4..]),
            "drop_signature" => format!("{h}.{p}"),
            "header_only" => h,
            "header_dot" => format!("{h}."),
            "append_part" => format!("{token}.{s}"),
            "non_utf8" => {
                let mut b = token.clone().into_bytes();
                b.insert(h.len() + 3, 0xff);
                bytes = Some(b);
                token
            }
            other if other.starts_with("truncate_signature:") => {
                let n = match &other["truncate_signature:".len()..] {
                    "all" => s.len(),
                    "half" => s.len() / 2,
                    n => n.parse().unwrap(),
                };
                format!("{h}.{p}.{}", &s[..s.len() - n])
            }
            other if other.starts_with("append_junk:") => {
                let n: usize = other["append_junk:".len()..].parse().unwrap();
                format!("{token}{}", "A".repeat(n))
            }
            other => panic!("unknown mutation {other}"),
        };
    }
    Built {
        bytes: bytes.unwrap_or_else(|| token.into_bytes()),
    }
}

fn cases() -> Vec<Value> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn kids_of(case: &Value) -> Vec<String> {
    case.get("keys").and_then(Value::as_array).map_or_else(
        || KIDS.iter().map(|k| (*k).to_owned()).collect(),
        |a| a.iter().map(|k| k.as_str().unwrap().to_owned()).collect(),
    )
}

/// The HTTP answer to a request carrying `JWT <token>`: an endpoint that authenticates by
/// token first (refresh), and the plain token check every protected route uses.
fn through_http(
    auth: &Authenticator,
    rt: &tokio::runtime::Runtime,
    token: &[u8],
) -> (u16, String, bool, Result<Claims, Error>) {
    let mut header = b"JWT ".to_vec();
    header.extend_from_slice(token);
    let res = rt.block_on(http::refresh_jwt(
        auth,
        &RequestParts {
            authorization: Some(&header),
            content_type: None,
            body: b"",
            query: None,
        },
    ));
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    (
        res.status,
        body["error_code"].as_str().unwrap_or_default().to_owned(),
        res.header("www-authenticate").is_some(),
        http::authenticate_token(auth, Some(&header)),
    )
}

#[test]
fn every_hostile_token_is_refused_with_invalid_token_by_every_key_type() {
    let v = verifiers();
    let auth = authenticator();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut tried = 0;
    let mut pending = Vec::new();
    let mut failures = Vec::new();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let expect_valid = case.get("expect").and_then(Value::as_str) == Some("valid");
        let now = at(case.get("now_offset").and_then(Value::as_i64).unwrap_or(0));
        for kid in kids_of(&case) {
            let ctx = Ctx {
                kid: &kid,
                published: &v.published,
            };
            let built = build(&case, &ctx);
            let label = format!("{name} [{kid}]");
            tried += 1;
            let text = std::str::from_utf8(&built.bytes).ok();
            let server = text.map(|t| v.server.verify(t, now));
            let jwks = text
                .filter(|_| kid != "hs")
                .map(|t| v.jwks_only.verify(t, now));
            if expect_valid {
                if !matches!(server, Some(Ok(_))) {
                    failures.push(format!("{label}: control refused: {server:?}"));
                }
                if kid != "hs" && !matches!(jwks, Some(Ok(_))) {
                    failures.push(format!("{label}: control refused by the JWKS: {jwks:?}"));
                }
                continue;
            }
            if let Some(reason) = case.get("pending").and_then(Value::as_str) {
                // Marked: refused once `reason` lands; until then it must at least not panic
                // and answer Ok or InvalidToken.
                if matches!(server, Some(Ok(_))) {
                    pending.push(format!("{label}: accepted until {reason}"));
                    continue;
                }
            }
            for (who, r) in [("server", &server), ("jwks", &jwks)] {
                if let Some(r) = r
                    && !matches!(r, Err(Error::InvalidToken))
                {
                    failures.push(format!("{label}: {who} answered {r:?}, not InvalidToken"));
                }
            }
            if now == at(0) {
                let (status, code, www, plain) = through_http(&auth, &rt, &built.bytes);
                if let Some(http_expect) = case.get("http_expect").and_then(Value::as_str) {
                    // Header framing the parser refuses as a bad request, before any token
                    // check (documented on `parse_authorization`).
                    let want = http_expect.split(':').next().unwrap_or_default();
                    if format!("{status} {code}") != want
                        || !matches!(plain, Err(Error::InvalidRequest(_)))
                    {
                        failures.push(format!(
                            "{label}: HTTP answered {status} {code}, not {want}"
                        ));
                    }
                    continue;
                }
                if status != 401 || code != "unauthorized" || !www {
                    failures.push(format!(
                        "{label}: HTTP answered {status} {code} (WWW-Authenticate: {www})"
                    ));
                }
                if !matches!(plain, Err(Error::InvalidToken)) {
                    failures.push(format!("{label}: authenticate_token answered {plain:?}"));
                }
            }
        }
    }
    for p in &pending {
        eprintln!("PENDING {p}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(tried >= 250, "{tried} tokens tried");
    eprintln!(
        "{tried} hostile and control tokens tried, {} pending",
        pending.len()
    );
}

/// A verifier refuses a huge token before decoding any of it: no allocation in proportion
/// to the input beyond the cap.
#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let v = verifiers();
    let valid = TokenIssuer::new(KeyRing::new(hs("hs")).unwrap(), TokenConfig::default())
        .unwrap()
        .mint(&user("db_viewer"), at(0), Ttl::DEFAULT)
        .unwrap()
        .token;
    assert!(valid.len() < authcore_core::MAX_TOKEN_LEN);
    let huge = format!("{valid}{}", "A".repeat(authcore_core::MAX_TOKEN_LEN));
    assert!(matches!(
        v.server.verify(&huge, at(0)),
        Err(Error::InvalidToken)
    ));
}

fn user(role: &str) -> User {
    User {
        uid: UserId::new("7"),
        email: "ann@example.org".into(),
        name: Some("Ann".into()),
        role: Role::new(role),
        status: UserStatus::Active,
        credentials: Credentials::External,
    }
}

fn minter(kid: &str) -> TokenIssuer {
    let key = match kid {
        "hs" => hs("hs"),
        "ed" => Key::from_private_pem("ed", ED25519_PEM).unwrap(),
        _ => Key::from_private_pem("es", P256_PEM).unwrap(),
    };
    TokenIssuer::new(KeyRing::new(key).unwrap(), TokenConfig::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A real token of each key type with any one byte changed is refused with
    /// InvalidToken (the change reaches the header, the claims or the signature check, not
    /// just the header decoding).
    #[test]
    fn a_real_token_with_one_byte_flipped_is_invalid(
        kid in prop::sample::select(KIDS.to_vec()),
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let v = verifiers();
        let token = minter(kid).mint(&user("db_viewer"), at(0), Ttl::DEFAULT).unwrap().token;
        prop_assert!(v.server.verify(&token, at(0)).is_ok());
        let mut bytes = token.into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        let flipped = String::from_utf8_lossy(&bytes);
        prop_assert!(matches!(v.server.verify(&flipped, at(0)), Err(Error::InvalidToken)), "byte {i}");
    }

    /// What is minted verifies to exactly the same claims, whatever the user's strings.
    #[test]
    fn minted_claims_round_trip(
        kid in prop::sample::select(KIDS.to_vec()),
        role in "\\PC{0,40}",
        email in "\\PC{0,80}",
        ttl in 1i64..=86_400,
    ) {
        let v = verifiers();
        let mut u = user(&role);
        u.email = email;
        let issued = minter(kid).mint(&u, at(0), Ttl::new(ttl).unwrap()).unwrap();
        prop_assert_eq!(v.server.verify(&issued.token, at(0)).unwrap(), issued.claims);
    }
}
