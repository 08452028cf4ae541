//! The two identical worlds of a run: one behind the adapter, one answered by the core's own
//! dispatch. Same store kind, same users created in the same order, one frozen clock: their
//! answers differ only where randomness is meant to be (a token's `jti`).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use authcore_core::http::{CheckResult, Operations, ReadinessCheck};
use authcore_core::settings::LdapSettings;
use authcore_core::{
    AuthPolicy, Authenticator, CreateUser, DirectoryControl, Error, Key, KeyRing, LdapMapping,
    LockoutStore, Result, Role, SettingsStore, Ttl, UserStore,
};

use crate::ManualClock;
use crate::fixtures::{fast_hashing, password};

/// A fixed Ed25519 key (kid `suite`): its public half makes `/.well-known/jwks.json` a route,
/// and Ed25519 signatures are deterministic. Public, never use it outside tests.
const SUITE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINAOHLTY9MUrJQ0C3N8RzlamYUmRZatCVwl6yjOErwT7
-----END PRIVATE KEY-----
";

/// The body of `GET /metrics` in both worlds.
pub(super) const SUITE_METRICS: &str = "# authcore-testkit adapter suite\nsuite_up 1\n";

/// The users every world starts with (created in this order: uids 1 to 6 on a fresh store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Who {
    /// uid 1, `admin`.
    Admin,
    /// uid 2, `db_viewer`.
    Ann,
    /// uid 3, `none`.
    Nobody,
    /// uid 4, `db_viewer`: logs out.
    Leaver,
    /// uid 5, `db_viewer`: changes its passwords.
    Pat,
    /// uid 6, `db_viewer`: updated and deleted by the admin.
    Carl,
}

impl Who {
    pub(super) const ALL: [Self; 6] = [
        Self::Admin,
        Self::Ann,
        Self::Nobody,
        Self::Leaver,
        Self::Pat,
        Self::Carl,
    ];

    pub(super) fn email(self) -> &'static str {
        match self {
            Self::Admin => "admin@example.test",
            Self::Ann => "ann@example.test",
            Self::Nobody => "nobody@example.test",
            Self::Leaver => "leaver@example.test",
            Self::Pat => "pat@example.test",
            Self::Carl => "carl@example.test",
        }
    }

    pub(super) fn password(self) -> &'static str {
        match self {
            Self::Admin => "Adm1n-Passw0rd!",
            Self::Ann => "Ann-Passw0rd!",
            Self::Nobody => "N0body-Passw0rd!",
            Self::Leaver => "Leav3r-Passw0rd!",
            Self::Pat => "Pat-Passw0rd!1",
            Self::Carl => "Carl-Passw0rd!",
        }
    }

    fn role(self) -> Role {
        match self {
            Self::Admin => Role::ADMIN,
            Self::Nobody => Role::NONE,
            _ => Role::DB_VIEWER,
        }
    }

    /// Whether the world signs this user in at the start (its token is in
    /// [`World::tokens`]).
    fn signed_in(self) -> bool {
        matches!(self, Self::Admin | Self::Ann | Self::Nobody | Self::Leaver)
    }
}

/// Readiness and metrics with fixed answers, so the operations routes exist in both worlds.
#[derive(Debug)]
struct SuiteOperations;

#[async_trait]
impl Operations for SuiteOperations {
    async fn readiness(&self, _auth: &Authenticator) -> Vec<ReadinessCheck> {
        vec![ReadinessCheck {
            name: "user_store",
            result: CheckResult::Ok,
        }]
    }

    fn serves_metrics(&self) -> bool {
        true
    }

    fn render_metrics(&self, _auth: &Authenticator) -> String {
        SUITE_METRICS.to_owned()
    }
}

/// Run-time LDAP settings without a directory behind them (the adapter is under test, not
/// the directory): an object with at least one URI is stored as given, a DN is anything with
/// a `=`, and applying does nothing.
#[derive(Debug)]
struct SuiteDirectory;

impl DirectoryControl for SuiteDirectory {
    fn check(&self, ldap: &LdapSettings) -> Result<LdapSettings> {
        if ldap.uris.is_empty() {
            Err(Error::InvalidRequest("uris: at least one URI".into()))
        } else {
            Ok(ldap.clone())
        }
    }

    fn is_dn(&self, dn: &str) -> bool {
        dn.contains('=')
    }

    fn apply(&self, _ldap: Option<&LdapSettings>, _mappings: &[LdapMapping]) -> Result<()> {
        Ok(())
    }
}

/// One world: its authenticator, the tokens of its signed-in users, and a name for every
/// `jti` it has issued so far (to compare tokens of two worlds by what they mean).
pub(super) struct World {
    pub(super) auth: Authenticator,
    pub(super) tokens: HashMap<Who, String>,
    pub(super) jti_names: HashMap<String, String>,
}

impl World {
    /// An authenticator over `store` with every route of the table enabled (a settings store
    /// and directory control, operations hooks, an Ed25519 key), the users of [`Who`] created and signed in.
    pub(super) async fn build<S>(store: Arc<S>, clock: &ManualClock) -> Result<Self>
    where
        S: UserStore + LockoutStore + SettingsStore + 'static,
    {
        let users: Arc<dyn UserStore> = store.clone();
        let lockout: Arc<dyn LockoutStore> = store.clone();
        let settings: Arc<dyn SettingsStore> = store;
        let auth = Authenticator::builder()
            .store(users)
            .lockout_store(lockout)
            .settings_store(settings)
            .hashing(fast_hashing())
            .keys(KeyRing::new(Key::from_private_pem(
                "suite",
                SUITE_KEY_PEM.as_bytes(),
            )?)?)
            .clock(Arc::new(clock.clone()))
            .policy(AuthPolicy::default())
            .operations(Arc::new(SuiteOperations))
            .directory_control(Arc::new(SuiteDirectory))
            .build()?;
        let mut world = Self {
            auth,
            tokens: HashMap::new(),
            jti_names: HashMap::new(),
        };
        for who in Who::ALL {
            world
                .auth
                .create_user_unchecked(CreateUser {
                    email: who.email().to_owned(),
                    password: password(who.password()),
                    name: None,
                    role: who.role(),
                })
                .await?;
        }
        for who in Who::ALL.into_iter().filter(|w| w.signed_in()) {
            world.sign_in(who, "sign-in").await?;
        }
        Ok(world)
    }

    /// Signs `who` in (again): its token is the new one, named `{who}'s {name}`.
    pub(super) async fn sign_in(&mut self, who: Who, name: &str) -> Result<()> {
        let issued = self
            .auth
            .authorize(who.email(), &password(who.password()), Ttl::DEFAULT)
            .await?;
        self.jti_names
            .insert(issued.claims.jti.clone(), format!("{who:?}'s {name}"));
        self.tokens.insert(who, issued.token);
        Ok(())
    }
}
