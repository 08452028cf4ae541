//! The name migrations (`20261129000003_optional_user_names`,
//! `20261129000004_clear_default_names`) on a database of the previous schema with data in it.

use std::sync::Arc;

use authcore_core::{
    Error, LockoutPolicy, LockoutStore as _, Password, Role, StoredPassword, User, UserAdmin as _,
    UserId, UserStore as _, UserUpdate,
};
use authcore_sql::{Engine, SqlConfig, SqlStore};
use sqlx::{AssertSqlSafe, Connection as _};

use super::{at, migrate_before, new_user, unique_db_name};

/// The first of the two name migrations.
pub const OPTIONAL_NAMES_MIGRATION: i64 = 20_261_129_000_003;

/// One integer `sql` answers on `url`, read over a connection of its own.
pub async fn scalar(url: &str, sql: &str) -> i64 {
    let sql = AssertSqlSafe(sql.to_owned());
    match Engine::from_url(url).unwrap() {
        Engine::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Engine::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Engine::MySql => {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        other => panic!("no engine {other:?}"),
    }
}

fn id(user: &User) -> u64 {
    user.uid.as_u64().unwrap()
}

/// A database of the schema before the name migrations, holding users whose name is their
/// e-mail (the old default) and users with names of their own, passwords, lockout state, a
/// session epoch and a deleted user with the highest uid. After the upgrade: exactly the names
/// that were the user's e-mail, byte for byte, are gone; everything else is as it was; names
/// stay unique among those that are set; deleting a user still deletes its passwords; the
/// deleted uid is never handed out again; and the whole user-administration suite passes on
/// the upgraded database. Returns the upgraded store.
pub async fn name_migrations_keep_the_data(url: &str) -> Arc<SqlStore> {
    use authcore_core::SessionStore as _;

    migrate_before(url, OPTIONAL_NAMES_MIGRATION).await;
    let old = SqlStore::connect_with(SqlConfig::new(url).run_migrations(false))
        .await
        .unwrap();
    let tag = unique_db_name();
    let hashing =
        authcore_core::HashingPool::new(authcore_core::HashingConfig::insecure_fast()).unwrap();
    let pw = Password::from("Correct-Horse-1".to_owned());

    // Named after their e-mail, as `POST /v1/users` without a name used to do; this one holds
    // two passwords, the admin role and a failed sign-in.
    let defaulted_email = format!("Default-{tag}@Example.test");
    let mut defaulted = new_user(&defaulted_email, &defaulted_email);
    defaulted.role = Role::ADMIN;
    defaulted.passwords = vec![
        StoredPassword {
            hash: hashing.hash(&pw).await.unwrap(),
            issued_at: at(5),
        },
        StoredPassword {
            hash: hashing.hash(&pw).await.unwrap(),
            issued_at: at(7),
        },
    ];
    let defaulted = old.create_user(defaulted).await.unwrap();
    let plain_email = format!("plain-{tag}@example.test");
    let plain = old
        .create_user(new_user(&plain_email, &plain_email))
        .await
        .unwrap();
    old.record_failure(&defaulted.uid, at(6), &LockoutPolicy::DEFAULT)
        .await
        .unwrap();
    old.advance_epoch(&plain.uid).await.unwrap();

    // Names of their own: kept, including names that only resemble the e-mail.
    let explicit_email = format!("explicit-{tag}@example.test");
    let explicit = old
        .create_user(new_user(&explicit_email, &format!("Explicit {tag}")))
        .await
        .unwrap();
    let padded_email = format!("padded-{tag}@example.test");
    let padded = old
        .create_user(new_user(&padded_email, &format!("{padded_email} ")))
        .await
        .unwrap();
    let cased_email = format!("Cased-{tag}@Example.test");
    let cased = old
        .create_user(new_user(&cased_email, &cased_email.to_lowercase()))
        .await
        .unwrap();
    let borrower = old
        .create_user(new_user(
            &format!("borrower-{tag}@example.test"),
            &explicit_email,
        ))
        .await
        .unwrap();
    let kept = [&explicit, &padded, &cased, &borrower];

    // The highest uid, deleted before the upgrade.
    let last_email = format!("last-{tag}@example.test");
    let last = old
        .create_user(new_user(&last_email, &last_email))
        .await
        .unwrap();
    assert!(old.delete_user(&last.uid).await.unwrap());

    let mut nameless = new_user(&format!("nameless-{tag}@example.test"), "");
    nameless.name = None;
    assert!(
        old.create_user(nameless).await.is_err(),
        "the previous schema has no room for a user without a name"
    );
    old.close().await;

    let store = Arc::new(SqlStore::connect(url).await.unwrap());
    for (before, email) in [(&defaulted, &defaulted_email), (&plain, &plain_email)] {
        let found = store.find_by_uid(&before.uid).await.unwrap().unwrap();
        assert_eq!(
            found.name, None,
            "{email}: a name that was the e-mail is gone"
        );
        assert_eq!(
            found,
            User {
                name: None,
                ..before.clone()
            },
            "{email}: everything else is as it was"
        );
    }
    for before in kept {
        let found = store.find_by_uid(&before.uid).await.unwrap().unwrap();
        assert_eq!(&found, before, "a name of the user's own is kept");
    }
    assert_eq!(
        store.state(&defaulted.uid).await.unwrap().unwrap().failures,
        1
    );
    assert_eq!(store.epoch(&plain.uid).await.unwrap(), 1);
    assert_eq!(store.count_active_admins().await.unwrap(), 1);
    let admin = store
        .find_by_username(&defaulted_email.to_lowercase())
        .await
        .unwrap()
        .expect("found by e-mail");
    assert_eq!(admin.passwords(), defaulted.passwords());

    // Any number of users without a name; a deleted uid is never handed out again.
    let mut fresh = Vec::new();
    for i in 0..3 {
        let mut user = new_user(&format!("after-{i}-{tag}@example.test"), "");
        user.name = None;
        fresh.push(store.create_user(user).await.unwrap());
    }
    assert!(fresh.iter().all(|u| u.name.is_none()));
    assert!(
        id(&fresh[0]) > id(&last),
        "uid {} of a deleted user handed out again after the upgrade",
        last.uid
    );

    // A cleared name is free; a name of one's own is still unique; so is the e-mail.
    let rename = |uid: UserId, name: String| {
        let store = Arc::clone(&store);
        async move {
            store
                .update_user(
                    &uid,
                    UserUpdate {
                        name: Some(name),
                        ..UserUpdate::default()
                    },
                )
                .await
        }
    };
    let took = rename(fresh[0].uid.clone(), defaulted_email.clone())
        .await
        .expect("the e-mail of a user whose name was cleared is a free name");
    assert_eq!(took.name.as_deref(), Some(defaulted_email.as_str()));
    let err = rename(fresh[1].uid.clone(), format!("Explicit {tag}"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NameAlreadyExists), "{err:?}");
    let err = store
        .create_user(new_user(&explicit_email.to_uppercase(), "another name"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailAlreadyExists), "{err:?}");

    // Deleting a user still deletes its passwords (the foreign key survived the upgrade).
    let passwords_of = |uid: &UserId| {
        format!(
            "SELECT COUNT(*) FROM authcore_passwords WHERE uid = {}",
            uid.as_u64().unwrap()
        )
    };
    assert_eq!(scalar(url, &passwords_of(&explicit.uid)).await, 1);
    assert!(store.delete_user(&explicit.uid).await.unwrap());
    assert_eq!(scalar(url, &passwords_of(&explicit.uid)).await, 0);
    assert_eq!(scalar(url, &passwords_of(&defaulted.uid)).await, 2);

    authcore_testkit::conformance::run_user_admin_suite(store.clone()).await;
    store
}
