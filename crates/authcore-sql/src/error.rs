//! From sqlx errors to the core's error: outages are `StoreUnavailable`, unique violations are
//! the duplicate errors, bad data is `Internal`.

use authcore_core::Error;
use sqlx::error::ErrorKind;

/// Maps a sqlx error to the core's error.
///
/// Everything that means "the database did not do it" (down, unreachable, pool timeout, a
/// dropped connection, a deadlock that outlived its retries) is [`Error::StoreUnavailable`],
/// so it reaches clients as a 503 and never as a wrong password.
pub(crate) fn map_err(err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => duplicate(db.as_ref()),
            // The only foreign key: a password for a user deleted meanwhile.
            ErrorKind::ForeignKeyViolation => Error::NotFound,
            _ if db.code().is_some_and(|c| c.starts_with("22")) => {
                // SQLSTATE class 22, data exception: a value too long for its column, a NUL
                // byte in a PostgreSQL text... The input is at fault, not the store.
                Error::InvalidRequest("value rejected by the database (too long or invalid)".into())
            }
            _ => unavailable(err),
        },
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::RowNotFound => {
            tracing::error!(error = %err, "authcore-sql: unexpected data in the database");
            Error::Internal(format!("unexpected data in the user database: {err}"))
        }
        _ => unavailable(err),
    }
}

fn unavailable(err: sqlx::Error) -> Error {
    tracing::warn!(error = %err, "authcore-sql: database unavailable");
    Error::store(err)
}

/// Which unique constraint failed. Constraint names are the migrations' `authcore_users_*_key`;
/// SQLite names the column instead (`authcore_users.email_key`), MySQL/MariaDB quote the key
/// after "for key" in a message that also contains the duplicate value (which could itself
/// contain "email", hence the careful parse).
fn duplicate(db: &dyn sqlx::error::DatabaseError) -> Error {
    let key = match db.constraint() {
        Some(c) => c.to_owned(),
        None => {
            let msg = db.message();
            match msg.rfind("for key") {
                Some(i) => msg[i..].to_owned(),
                None => msg
                    .rsplit_once("failed:")
                    .map_or_else(|| msg.to_owned(), |(_, k)| k.to_owned()),
            }
        }
    };
    if key.contains("email") {
        Error::EmailAlreadyExists
    } else if key.contains("name") {
        Error::NameAlreadyExists
    } else {
        Error::Internal(format!("unexpected unique violation on {key}"))
    }
}

/// Whether retrying the whole transaction may succeed: a deadlock or serialization failure
/// (InnoDB picks a victim under concurrent upserts of one key).
pub(crate) fn is_retryable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("40001" | "40P01"))
                || db.message().contains("Deadlock found")
        }
        _ => false,
    }
}
