//! `authcore user ...`: user administration straight on the database, with or without a
//! server running on it. Every act goes through the core's [`Authenticator`] (the same
//! validation, complexity, last-admin and lockout rules as the API), as the operator of the
//! host: no token is needed, access to the database is the authority.

use std::io::{IsTerminal as _, Read as _};
use std::process::ExitCode;

use authcore_core::{
    Authenticator, CreateUser, Key, KeyRing, Password, Role, UpdateUser, UserId, UserStatus,
    UserStore as _, UserView, normalize_username,
};
use clap::{Args, Subcommand};

use crate::cli::BoxError;
use crate::options::{HashArgs, PolicyArgs, StoreArgs};

/// Options of every `authcore user` command.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub hashing: HashArgs,
}

/// The database of `authcore user` (the same flag and variable as `authcore serve`).
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// User store URL: sqlite://FILE?mode=rwc, postgres://..., mysql://... The same as the
    /// server's. [default: sqlite://authcore.db?mode=rwc, in the working directory]
    #[arg(
        long,
        env = "AUTHCORE_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
}

/// How a new password is given: never as an argument (it would show in `ps` and the shell
/// history).
#[derive(Debug, Args)]
pub struct PasswordInput {
    /// Read the password from standard input (one trailing newline is stripped) instead of
    /// prompting for it on the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

/// One `authcore user` action. USER is an e-mail (case-insensitive) or a uid.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a local user (prompts for the password, or --password-stdin).
    Add {
        /// E-mail, the login name.
        email: String,
        /// Role: admin, cluster_member, cluster_viewer, db_member, db_viewer or none.
        #[arg(long, default_value_t = Role::ADMIN.to_string())]
        role: String,
        /// Display name [default: none].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// List the local users with their role and effective status.
    List {
        /// Print JSON (the API's user objects) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set a new password (replacing all current ones) and unlock the account: the offline
    /// recovery of a locked-out or forgotten admin.
    Passwd {
        /// E-mail or uid.
        user: String,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// Unlock an account: forget its failed sign-ins (a disabled account stays disabled).
    Unlock {
        /// E-mail or uid.
        user: String,
    },
    /// Change a user's role (the last active admin cannot be demoted).
    SetRole {
        /// E-mail or uid.
        user: String,
        /// admin, cluster_member, cluster_viewer, db_member, db_viewer or none.
        role: String,
    },
    /// Disable an account: it can no longer sign in or refresh a token (the last active admin
    /// cannot be disabled).
    Disable {
        /// E-mail or uid.
        user: String,
    },
    /// Enable a disabled account.
    Enable {
        /// E-mail or uid.
        user: String,
    },
    /// Delete a user (the last active admin cannot be deleted).
    Delete {
        /// E-mail or uid.
        user: String,
    },
}

/// Runs one `authcore user` action.
pub async fn run(args: UserArgs) -> Result<ExitCode, BoxError> {
    let stores = StoreArgs {
        database_url: args.database.database_url.clone(),
        ldap_config: None,
    }
    .open()
    .await?;
    let auth = Authenticator::builder()
        .store(stores.sql.clone())
        .lockout_store(stores.lockout_store())
        .policy(args.policy.policy())
        .hashing(args.hashing.config()?)
        // Tokens are never minted here; the builder wants a key all the same.
        .keys(throwaway_keys()?)
        .allowed_roles(Role::REDIS_MANAGEMENT_ROLES)
        .settings_store(stores.sql.clone())
        .build()?;
    // The policy stored through PUT /v1/cluster* is in force here as in a running server;
    // the flags only fill what the database does not hold.
    auth.refresh_settings()
        .await
        .map_err(|e| format!("cannot load the run-time settings: {e}"))?;
    let (act, target) = args.action.describe();
    let actor = format!(
        "operator {}",
        std::env::var("USER").unwrap_or_else(|_| "(unknown OS user)".to_owned())
    );
    let result = act_on(&auth, &stores, args.action).await;
    match &result {
        Ok(()) => tracing::info!(
            target: "authcore::audit",
            act, actor = %actor, target = %target, client = "local", outcome = "success",
            "administrative act"
        ),
        Err(e) => tracing::info!(
            target: "authcore::audit",
            act, actor = %actor, target = %target, client = "local", outcome = "refused",
            error = %e,
            "administrative act"
        ),
    }
    result.map(|()| ExitCode::SUCCESS)
}

async fn act_on(
    auth: &Authenticator,
    stores: &crate::options::Stores,
    action: UserAction,
) -> Result<(), BoxError> {
    let find = |user: String| {
        let sql = stores.sql.clone();
        async move {
            let found = match user.parse::<u64>() {
                Ok(n) => sql.find_by_uid(&UserId::from(n)).await?,
                Err(_) => sql.find_by_username(&normalize_username(&user)).await?,
            };
            found
                .map(|u| u.uid)
                .ok_or_else(|| BoxError::from(format!("no user {user:?} in the database")))
        }
    };
    match action {
        UserAction::Add {
            email,
            role,
            name,
            password,
        } => {
            let password = password.read()?;
            let view = auth
                .create_user_unchecked(CreateUser {
                    email,
                    password,
                    name,
                    role: Role::new(role),
                })
                .await?;
            println!("created {}", describe(&view));
        }
        UserAction::List { json } => {
            let users = auth.list_users_as_operator().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                print_table(&users);
            }
        }
        UserAction::Passwd { user, password } => {
            let uid = find(user).await?;
            let password = password.read()?;
            let update = UpdateUser {
                password: Some(password),
                ..UpdateUser::default()
            };
            let view = auth.update_user_as_operator(&uid, update).await?;
            println!("password set, account unlocked: {}", describe(&view));
        }
        UserAction::Unlock { user } => {
            let uid = find(user).await?;
            let view = auth.unlock_user_as_operator(&uid).await?;
            println!("unlocked {}", describe(&view));
        }
        UserAction::SetRole { user, role } => {
            let uid = find(user).await?;
            let update = UpdateUser {
                role: Some(Role::new(role)),
                ..UpdateUser::default()
            };
            let view = auth.update_user_as_operator(&uid, update).await?;
            println!("role set: {}", describe(&view));
        }
        UserAction::Disable { user } => {
            let view = set_status(auth, find(user).await?, UserStatus::Disabled).await?;
            println!("disabled {}", describe(&view));
        }
        UserAction::Enable { user } => {
            let view = set_status(auth, find(user).await?, UserStatus::Active).await?;
            println!("enabled {}", describe(&view));
        }
        UserAction::Delete { user } => {
            let uid = find(user.clone()).await?;
            auth.delete_user_as_operator(&uid).await?;
            println!("deleted user {uid} ({user})");
        }
    }
    Ok(())
}

impl UserAction {
    /// The act and its target, for the audit event (never a password).
    fn describe(&self) -> (&'static str, String) {
        match self {
            Self::Add { email, role, .. } => ("user add", format!("{email} as {role}")),
            Self::List { .. } => ("user list", "-".to_owned()),
            Self::Passwd { user, .. } => ("user passwd", user.clone()),
            Self::Unlock { user } => ("user unlock", user.clone()),
            Self::SetRole { user, role } => ("user set-role", format!("{user} to {role}")),
            Self::Disable { user } => ("user disable", user.clone()),
            Self::Enable { user } => ("user enable", user.clone()),
            Self::Delete { user } => ("user delete", user.clone()),
        }
    }
}

pub(crate) fn throwaway_keys() -> Result<KeyRing, BoxError> {
    let mut random = vec![0u8; 32];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
    Ok(KeyRing::new(Key::hs256(
        "unused",
        &secrecy::SecretSlice::from(random),
    )?)?)
}

async fn set_status(
    auth: &Authenticator,
    uid: UserId,
    status: UserStatus,
) -> Result<UserView, BoxError> {
    let update = UpdateUser {
        status: Some(status),
        ..UpdateUser::default()
    };
    Ok(auth.update_user_as_operator(&uid, update).await?)
}

fn describe(view: &UserView) -> String {
    let name = view
        .name
        .as_deref()
        .map_or_else(String::new, |n| format!(" \"{n}\""));
    format!(
        "{}{name} (uid {}, role {}, status {})",
        view.email,
        uid_text(view),
        view.role.as_str(),
        view.status.as_str()
    )
}

fn uid_text(view: &UserView) -> String {
    match &view.uid {
        authcore_core::UidValue::Number(n) => n.to_string(),
        authcore_core::UidValue::Text(t) => t.clone(),
    }
}

fn print_table(users: &[UserView]) {
    let width = users
        .iter()
        .map(|u| u.email.chars().count())
        .max()
        .unwrap_or(0)
        .max("EMAIL".len());
    println!(
        "{:>6}  {:<width$}  {:<14}  {:<8}  PASSWORD ISSUED",
        "UID", "EMAIL", "ROLE", "STATUS"
    );
    for u in users {
        println!(
            "{:>6}  {:<width$}  {:<14}  {:<8}  {}",
            uid_text(u),
            u.email,
            u.role.as_str(),
            u.status.as_str(),
            u.password_issue_date.as_deref().unwrap_or("-")
        );
    }
}

impl PasswordInput {
    /// The password: from standard input with `--password-stdin`, else prompted for twice on
    /// the terminal without echo.
    fn read(&self) -> Result<Password, BoxError> {
        if self.password_stdin {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            return Ok(Password::from(strip_one_newline(text)));
        }
        if !std::io::stdin().is_terminal() {
            return Err(
                "standard input is not a terminal: pass the password with --password-stdin".into(),
            );
        }
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        let (first, second) = (Password::from(first), Password::from(second));
        if secrecy::ExposeSecret::expose_secret(&first)
            != secrecy::ExposeSecret::expose_secret(&second)
        {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    }
}

/// Strips one trailing newline (`\n` or `\r\n`), as `echo "$PW" |` adds one.
fn strip_one_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::strip_one_newline;

    #[test]
    fn strips_exactly_one_trailing_newline() {
        assert_eq!(strip_one_newline("pw\n".into()), "pw");
        assert_eq!(strip_one_newline("pw\r\n".into()), "pw");
        assert_eq!(strip_one_newline("pw\n\n".into()), "pw\n");
        assert_eq!(strip_one_newline("pw".into()), "pw");
        assert_eq!(strip_one_newline(" pw \n".into()), " pw ");
    }
}
