//! Options shared by several subcommands (same flags, same environment variables) and what
//! they build: the stores, the key ring and the policy.

use std::path::PathBuf;
use std::sync::Arc;

use authcore_core::{
    Argon2Params, AuthPolicy, HashingConfig, Key, KeyRing, LockoutPolicy, LockoutStore,
    PasswordComplexity, PasswordExpiry, PasswordRules, SessionPolicy, SignInLimits, UserStore,
};
use authcore_sql::SqlStore;
use clap::Args;
use secrecy::SecretSlice;

use crate::cli::BoxError;

/// The database used when `--database-url` is not given: a SQLite file in the working
/// directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://authcore.db?mode=rwc";

/// Where users and lockout state live.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// User store URL: sqlite://FILE?mode=rwc, postgres://..., mysql://...
    /// [default: sqlite://authcore.db?mode=rwc, in the working directory]
    #[arg(long, env = "AUTHCORE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// LDAP configuration (JSON file: Redis's `ldap` object plus `ldap_mappings`): users come
    /// from the directory. With --database-url too, local users are looked up first, then the
    /// directory; without it the default SQLite file keeps only the lockout state. The file
    /// seeds the run-time LDAP settings (GET/PUT /v1/cluster/ldap, /v1/ldap_mappings) when
    /// the database holds none yet; after that the database's settings are in force.
    #[arg(long, env = "AUTHCORE_LDAP_CONFIG")]
    pub ldap_config: Option<PathBuf>,
}

/// The stores that [`StoreArgs`] name, opened.
#[derive(Debug)]
pub struct Stores {
    /// The SQL database: local users (unless directory-only) and the lockout state.
    pub sql: Arc<SqlStore>,
    /// The directory: rebuilt from the run-time LDAP settings (none configured: it knows no
    /// user).
    pub ldap: Arc<authcore_ldap::ReloadableLdapStore>,
    /// Whether the SQL database holds local users (false in directory-only mode).
    pub local_users: bool,
}

impl StoreArgs {
    /// The database URL, or the default SQLite file.
    pub fn database_url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)
    }

    /// Whether the database holds local users: always, except with `--ldap-config` and no
    /// `--database-url` (directory-only).
    pub fn local_users(&self) -> bool {
        self.ldap_config.is_none() || self.database_url.is_some()
    }

    /// Reads the LDAP configuration file, when given.
    pub fn ldap_config(&self) -> Result<Option<authcore_ldap::LdapConfig>, BoxError> {
        let Some(path) = &self.ldap_config else {
            return Ok(None);
        };
        let config = authcore_ldap::LdapConfig::from_json_file(path)
            .map_err(|e| format!("--ldap-config {}: {e}", path.display()))?;
        Ok(Some(config))
    }

    /// The LDAP configuration file as run-time settings (the `ldap` object and the mappings,
    /// each with a name), when given.
    pub fn ldap_seed(
        &self,
    ) -> Result<Option<(serde_json::Value, Vec<authcore_core::NewLdapMapping>)>, BoxError> {
        let Some(path) = &self.ldap_config else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--ldap-config {}: {e}", path.display()))?;
        let seed = authcore_ldap::settings_from_file(&text)
            .map_err(|e| format!("--ldap-config {}: {e}", path.display()))?;
        Ok(Some(seed))
    }

    /// Opens the database (applying migrations). The directory starts empty: the server
    /// builds it from the run-time settings (which `--ldap-config` seeds).
    pub async fn open(&self) -> Result<Stores, BoxError> {
        let url = self.database_url();
        crate::cleartext::warn(Some(url));
        let sql = Arc::new(SqlStore::connect(url).await.map_err(|e| {
            format!(
                "cannot open the user store {}: {e}",
                authcore_sql::mask_url(url)
            )
        })?);
        tracing::info!(url = %sql.masked_url(), "SQL store ready");
        Ok(Stores {
            sql,
            ldap: Arc::new(authcore_ldap::ReloadableLdapStore::new()),
            local_users: self.local_users(),
        })
    }
}

impl Stores {
    /// The user stores in lookup order: local users first, then the directory.
    pub fn user_stores(&self) -> Vec<Arc<dyn UserStore>> {
        let mut users: Vec<Arc<dyn UserStore>> = Vec::new();
        if self.local_users {
            users.push(self.sql.clone());
        }
        users.push(self.ldap.clone());
        users
    }

    /// The lockout store: always the SQL database (directory users are locked by DN).
    pub fn lockout_store(&self) -> Arc<dyn LockoutStore> {
        self.sql.clone()
    }
}

/// The sign-in policy (Redis Enterprise's names and defaults).
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Days a password stays valid (0: never expires).
    #[arg(
        long,
        env = "AUTHCORE_PASSWORD_EXPIRATION_DAYS",
        default_value_t = 0,
        global = true
    )]
    pub password_expiration_days: u32,

    /// Failed sign-ins that lock an account (0: lockout off).
    #[arg(long, env = "AUTHCORE_LOGIN_LOCKOUT_THRESHOLD", default_value_t = LockoutPolicy::DEFAULT.threshold, global = true)]
    pub login_lockout_threshold: u32,

    /// Seconds an account stays locked (0: until an admin resets its password).
    #[arg(long, env = "AUTHCORE_LOGIN_LOCKOUT_DURATION", default_value_t = LockoutPolicy::DEFAULT.duration_secs, global = true)]
    pub login_lockout_duration: u64,

    /// Seconds without a failure after which the failure counter starts again.
    #[arg(long, env = "AUTHCORE_LOGIN_LOCKOUT_COUNTER_RESET_AFTER", default_value_t = LockoutPolicy::DEFAULT.counter_reset_after_secs, global = true)]
    pub login_lockout_counter_reset_after: u64,

    /// Enforce Redis's password complexity rules (`--password-complexity` or `=true/false`).
    #[arg(long, env = "AUTHCORE_PASSWORD_COMPLEXITY", default_value_t = false,
          num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, global = true)]
    pub password_complexity: bool,

    /// Longest session in seconds from its password sign-in: refresh_jwt is refused after
    /// it and no token outlives it (0: unlimited).
    #[arg(long, env = "AUTHCORE_MAX_SESSION_LIFETIME", default_value_t = SessionPolicy::DEFAULT.max_session_lifetime_secs, global = true)]
    pub max_session_lifetime: u64,

    /// Shortest new password in characters, enforced even without --password-complexity
    /// (0: no minimum).
    #[arg(long, env = "AUTHCORE_PASSWORD_MIN_LENGTH", default_value_t = PasswordRules::DEFAULT.min_length, global = true)]
    pub password_min_length: u32,

    /// The most passwords one user may hold at once (POST /v1/users/password beyond it is
    /// 400 too_many_passwords); each wrong sign-in costs one hash per stored password.
    #[arg(long, env = "AUTHCORE_MAX_PASSWORDS_PER_USER", default_value_t = PasswordRules::DEFAULT.max_passwords,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_passwords_per_user: u32,
}

impl PolicyArgs {
    /// The policy these flags describe.
    pub fn policy(&self) -> AuthPolicy {
        AuthPolicy {
            expiry: PasswordExpiry::days(self.password_expiration_days),
            lockout: LockoutPolicy {
                threshold: self.login_lockout_threshold,
                duration_secs: self.login_lockout_duration,
                counter_reset_after_secs: self.login_lockout_counter_reset_after,
            },
            complexity: PasswordComplexity {
                enabled: self.password_complexity,
            },
            session: SessionPolicy {
                max_session_lifetime_secs: self.max_session_lifetime,
            },
            passwords: PasswordRules {
                min_length: self.password_min_length,
                max_passwords: self.max_passwords_per_user,
            },
        }
    }
}

/// The token signing keys. Every key's `kid` names that key and no other: the RFC 7638
/// thumbprint of a public key, a keyed digest (`hs256-...`) of a secret, or the name given
/// with --jwt-key-id / --jwt-secret-id.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// HS256 secret (at least 32 bytes; `authcore keygen hs256` makes one). Without it and
    /// without --jwt-key a random key is used and tokens die with the process.
    #[arg(long, env = "AUTHCORE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// PKCS#8 PEM private key (Ed25519 or P-256; `authcore keygen ed25519`) to sign tokens
    /// with (EdDSA / ES256); its public key is served at /.well-known/jwks.json. With
    /// --jwt-secret too, tokens signed with the secret stay valid.
    #[arg(long, env = "AUTHCORE_JWT_KEY")]
    pub jwt_key: Option<PathBuf>,

    /// The `kid` of --jwt-key [default: its RFC 7638 thumbprint].
    #[arg(long, env = "AUTHCORE_JWT_KEY_ID", requires = "jwt_key")]
    pub jwt_key_id: Option<String>,

    /// The `kid` of --jwt-secret [default: hs256- and a keyed digest of the secret].
    #[arg(long, env = "AUTHCORE_JWT_SECRET_ID", requires = "jwt_secret")]
    pub jwt_secret_id: Option<String>,

    /// A retired PEM private key whose tokens stay valid (verify only; repeatable; the
    /// variable takes a comma-separated list). Its public key stays in the JWKS.
    #[arg(long, env = "AUTHCORE_JWT_PREVIOUS_KEY", value_delimiter = ',')]
    pub jwt_previous_key: Vec<PathBuf>,

    /// The `kid` of each --jwt-previous-key, in the same order (repeatable; the variable
    /// takes a comma-separated list; an empty one keeps the default) [default: the key's RFC
    /// 7638 thumbprint]. Give the name the key had as --jwt-key-id, or its tokens are not
    /// recognised.
    #[arg(
        long,
        env = "AUTHCORE_JWT_PREVIOUS_KEY_ID",
        value_delimiter = ',',
        requires = "jwt_previous_key"
    )]
    pub jwt_previous_key_id: Vec<String>,

    /// A retired HS256 secret whose tokens stay valid (verify only; repeatable; the variable
    /// takes a comma-separated list).
    #[arg(
        long,
        env = "AUTHCORE_JWT_PREVIOUS_SECRET",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub jwt_previous_secret: Vec<String>,

    /// The `kid` of each --jwt-previous-secret, in the same order (repeatable; the variable
    /// takes a comma-separated list; an empty one keeps the default) [default: hs256- and a
    /// keyed digest of the secret]. Give the name the secret had as --jwt-secret-id, or its
    /// tokens are not recognised.
    #[arg(
        long,
        env = "AUTHCORE_JWT_PREVIOUS_SECRET_ID",
        value_delimiter = ',',
        requires = "jwt_previous_secret"
    )]
    pub jwt_previous_secret_id: Vec<String>,

    /// Retires every --jwt-previous-key and --jwt-previous-secret at this instant (RFC 3339,
    /// e.g. 2026-12-01T00:00:00Z): from then on their tokens are refused whatever their
    /// `exp`. Without it they verify until the server is restarted without them.
    #[arg(long, env = "AUTHCORE_JWT_PREVIOUS_RETIRE_AT", value_parser = parse_rfc3339)]
    pub jwt_previous_retire_at: Option<authcore_core::time::OffsetDateTime>,
}

/// An RFC 3339 instant.
fn parse_rfc3339(text: &str) -> Result<authcore_core::time::OffsetDateTime, String> {
    authcore_core::time::OffsetDateTime::parse(
        text,
        &authcore_core::time::format_description::well_known::Rfc3339,
    )
    .map_err(|e| format!("not an RFC 3339 instant (2026-12-01T00:00:00Z): {e}"))
}

impl KeyArgs {
    /// The key ring: the PEM key signs when given, the secret otherwise; with both, the
    /// secret is verify-only; previous keys and secrets are verify-only. With neither, a
    /// random secret.
    pub fn key_ring(&self) -> Result<KeyRing, BoxError> {
        let secret = |text: &str, id: Option<&String>| -> Result<Key, BoxError> {
            let bytes = SecretSlice::from(text.as_bytes().to_vec());
            Ok(match id {
                Some(id) => Key::hs256(id.clone(), &bytes)?,
                None => Key::hs256_with_derived_kid(&bytes)?,
            })
        };
        let pem_key = |path: &PathBuf, id: Option<&String>| -> Result<Key, BoxError> {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let key = match id {
                Some(id) => Key::from_private_pem(id.clone(), &pem),
                None => Key::from_private_pem_with_derived_kid(&pem),
            };
            Ok(key.map_err(|e| format!("{}: {e}", path.display()))?)
        };
        let secret_key = match &self.jwt_secret {
            Some(text) => Some(secret(text, self.jwt_secret_id.as_ref())?),
            None => None,
        };
        let mut ring = match (&self.jwt_key, secret_key) {
            (Some(path), secret_key) => {
                let ring = KeyRing::new(
                    pem_key(path, self.jwt_key_id.as_ref())
                        .map_err(|e| format!("--jwt-key {e}"))?,
                )?;
                match secret_key {
                    Some(old) => ring.with_verify_only(old)?,
                    None => ring,
                }
            }
            (None, Some(key)) => KeyRing::new(key)?,
            (None, None) => {
                let mut random = vec![0u8; 32];
                getrandom::fill(&mut random)
                    .map_err(|e| format!("no randomness for a JWT key: {e}"))?;
                tracing::warn!(
                    "no --jwt-secret or --jwt-key: signing with a random key, tokens die with the process"
                );
                KeyRing::new(Key::hs256_with_derived_kid(&SecretSlice::from(random))?)?
            }
        };
        let retire = |key: Key| match self.jwt_previous_retire_at {
            Some(at) => key.retire_at(at),
            None => key,
        };
        let key_ids = paired_ids(
            &self.jwt_previous_key_id,
            self.jwt_previous_key.len(),
            "--jwt-previous-key",
        )?;
        for (path, id) in self.jwt_previous_key.iter().zip(key_ids) {
            let key = pem_key(path, id).map_err(|e| format!("--jwt-previous-key {e}"))?;
            ring = ring.with_verify_only(retire(key))?;
        }
        let secret_ids = paired_ids(
            &self.jwt_previous_secret_id,
            self.jwt_previous_secret.len(),
            "--jwt-previous-secret",
        )?;
        for (text, id) in self.jwt_previous_secret.iter().zip(secret_ids) {
            ring = ring.with_verify_only(retire(
                secret(text, id).map_err(|e| format!("--jwt-previous-secret: {e}"))?,
            ))?;
        }
        Ok(ring)
    }
}

/// The explicit `kid` of each of `count` previous keys: `ids` pairs with them by position
/// (none given: every key keeps its derived `kid`; an empty entry: that one does).
fn paired_ids<'a>(
    ids: &'a [String],
    count: usize,
    flag: &str,
) -> Result<Vec<Option<&'a String>>, BoxError> {
    if ids.is_empty() {
        return Ok(vec![None; count]);
    }
    if ids.len() != count {
        return Err(format!(
            "{flag}-id is given {} time(s) for {count} {flag}: give one per key, in the same order (an empty one keeps the default)",
            ids.len()
        )
        .into());
    }
    Ok(ids
        .iter()
        .map(|id| (!id.is_empty()).then_some(id))
        .collect())
}

/// The argon2id parameters of new password hashes (`authcore hash-calibrate` measures them
/// for this host). Stored hashes keep their own parameters; a weaker one is re-hashed at the
/// next successful sign-in.
#[derive(Debug, Clone, Args)]
pub struct HashArgs {
    /// argon2id memory per hash, in KiB.
    #[arg(long, env = "AUTHCORE_ARGON2_MEMORY_KIB", default_value_t = Argon2Params::DEFAULT.m_cost, global = true)]
    pub argon2_memory_kib: u32,

    /// argon2id iterations.
    #[arg(long, env = "AUTHCORE_ARGON2_ITERATIONS", default_value_t = Argon2Params::DEFAULT.t_cost, global = true)]
    pub argon2_iterations: u32,

    /// argon2id lanes.
    #[arg(long, env = "AUTHCORE_ARGON2_PARALLELISM", default_value_t = Argon2Params::DEFAULT.p_cost, global = true)]
    pub argon2_parallelism: u32,

    /// argon2 worker threads (default: one per core).
    #[arg(long, env = "AUTHCORE_HASHING_WORKERS", global = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub hashing_workers: Option<u16>,

    /// The hashing queue's deadline, in milliseconds: a sign-in is admitted while the expected
    /// wait of the jobs queued before it (queued x t_verify / workers) stays within it; beyond
    /// it the answer is 503 with `Retry-After` = that wait, before any store I/O.
    #[arg(
        long,
        env = "AUTHCORE_HASHING_MAX_WAIT_MS",
        default_value_t = 2000,
        global = true
    )]
    pub hashing_max_wait_ms: u64,

    /// How long the answer to a sign-in refused for overload is held, in milliseconds (0:
    /// answered at once). The refusal is decided at once, before any store I/O, and holds no
    /// place in the queue; held, a client in a closed loop cannot spin on refusals and take
    /// the CPU from the argon2 workers.
    #[arg(
        long,
        env = "AUTHCORE_OVERLOAD_HOLD_MS",
        default_value_t = 250,
        global = true
    )]
    pub overload_hold_ms: u64,
}

impl HashArgs {
    /// The sign-in limits these flags give (`--overload-hold-ms`), the defaults otherwise.
    pub fn sign_in_limits(&self) -> SignInLimits {
        SignInLimits {
            overload_hold: std::time::Duration::from_millis(self.overload_hold_ms),
            ..SignInLimits::default()
        }
    }

    /// The parameters these flags give.
    pub fn params(&self) -> Argon2Params {
        Argon2Params {
            m_cost: self.argon2_memory_kib,
            t_cost: self.argon2_iterations,
            p_cost: self.argon2_parallelism,
        }
    }

    /// The hashing configuration: these parameters, the pool's defaults otherwise.
    ///
    /// Parameters outside `Argon2Params::MIN..=MAX` are refused here, before any store is
    /// touched.
    pub fn config(&self) -> Result<HashingConfig, BoxError> {
        let params = self.params();
        if !Argon2Params::MIN.within(&params) || !params.within(&Argon2Params::MAX) {
            return Err(format!(
                "argon2 parameters m={} KiB t={} p={} are outside {}..={} KiB, {}..={} iterations, {}..={} lanes",
                params.m_cost,
                params.t_cost,
                params.p_cost,
                Argon2Params::MIN.m_cost,
                Argon2Params::MAX.m_cost,
                Argon2Params::MIN.t_cost,
                Argon2Params::MAX.t_cost,
                Argon2Params::MIN.p_cost,
                Argon2Params::MAX.p_cost,
            )
            .into());
        }
        let default = HashingConfig::default();
        Ok(HashingConfig {
            params,
            concurrency: self
                .hashing_workers
                .map_or(default.concurrency, usize::from),
            max_wait: std::time::Duration::from_millis(self.hashing_max_wait_ms),
            ..default
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        hashing: HashArgs,
    }

    #[test]
    fn the_overload_hold_is_250_ms_by_default_and_set_by_its_flag() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("authcore").chain(args.iter().copied()))
                .map(|cli| cli.hashing.sign_in_limits())
        };
        let default = parse(&[]).map(|l| l.overload_hold);
        assert_eq!(default.ok(), Some(std::time::Duration::from_millis(250)));
        let zero = parse(&["--overload-hold-ms", "0"]).map(|l| l.overload_hold);
        assert_eq!(zero.ok(), Some(std::time::Duration::ZERO));
        let limits = parse(&["--overload-hold-ms", "1000"]).ok();
        assert_eq!(
            limits,
            Some(SignInLimits {
                overload_hold: std::time::Duration::from_secs(1),
                ..SignInLimits::default()
            }),
            "only the hold differs from the defaults"
        );
        assert!(parse(&["--overload-hold-ms", "-1"]).is_err());
    }
}
