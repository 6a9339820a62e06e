//! `AppError`: the one error type of the service, safe to show a client by construction.

use sea_orm::{DbErr, SqlErr, TransactionError};

/// An error a request can end with. `Display` is what the client sees; internal causes are
/// logged where they are converted and never carried into a response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Input failed validation; names the field and the rule it broke.
    #[error("{field}: {rule}")]
    BadInput { field: String, rule: String },
    /// A referenced slug or ID does not exist.
    #[error("{what} not found: {key}{}", hint(suggestions))]
    NotFound {
        what: &'static str,
        key: String,
        /// Existing keys close to `key`, nearest first (a likely typo's fix).
        suggestions: Vec<String>,
    },
    /// The change conflicts with the current state (duplicate, stale version, second accountable owner).
    #[error("{0}")]
    Conflict(String),
    /// The database rolled the transaction back to let a concurrent one through (a deadlock
    /// or serialisation failure): nothing of it applied, and running it again may succeed.
    /// The write path retries it; a client sees it as `CONFLICT`.
    #[error("{CONTENTION}")]
    Contention,
    /// The database cannot be reached or is too busy to answer in time; retrying later may
    /// succeed. Answered with HTTP 503 and `Retry-After`.
    #[error("the database is unavailable; retry shortly")]
    Unavailable,
    /// Anything else; the cause is in the log.
    #[error("internal error")]
    Internal,
}

/// "; did you mean `a` or `b`?" for the suggestions of a `NOT_FOUND`, or nothing.
fn hint(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        [rest @ .., last] => format!(
            "; did you mean {} or `{last}`?",
            rest.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The seconds a client is asked to wait (`Retry-After`) after [`AppError::Unavailable`].
pub const RETRY_AFTER_SECS: u64 = 2;

/// The `CONFLICT` message of a transaction the database rolled back because of a concurrent
/// one (a deadlock or serialisation failure).
pub const CONTENTION: &str = "a concurrent change got in the way; retry";

/// The `CONFLICT` message of a write whose reference (a team, a person, a stage) a concurrent
/// change deleted after it was checked.
pub const REFERENCE_CHANGED: &str =
    "something this change refers to was deleted by a concurrent change; reload and retry";

/// The `extensions.code` of [`AppError::Unavailable`].
pub const DATABASE_UNAVAILABLE: &str = "DATABASE_UNAVAILABLE";

/// Short for results whose error is [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A validation failure of `field`.
    pub fn bad_input(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// An unknown slug or ID.
    pub fn not_found(what: &'static str, key: impl std::fmt::Display) -> Self {
        Self::NotFound {
            what,
            key: key.to_string(),
            suggestions: Vec::new(),
        }
    }

    /// A conflict with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// Logs `cause` and returns the opaque internal error.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::Internal
    }

    /// The stable code sent in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Conflict(_) | Self::Contention => "CONFLICT",
            Self::Unavailable => DATABASE_UNAVAILABLE,
            Self::Internal => "INTERNAL",
        }
    }

    /// Maps a database error, turning a unique-constraint violation into `CONFLICT`
    /// with `message` (never the database's own text).
    pub fn on_unique(err: DbErr, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::conflict(message),
            _ => Self::from(err),
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match crate::db::failure(&err) {
            crate::db::Failure::Unavailable => {
                if matches!(
                    err,
                    DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout)
                ) {
                    crate::metrics::METRICS.pool_timeouts.inc();
                }
                tracing::warn!(cause = %err, "database unavailable");
                Self::Unavailable
            }
            // The database rolled the transaction back to let a concurrent one through, so
            // nothing of it applied: to the editor that is a lost race, like a stale version.
            crate::db::Failure::Contention => {
                tracing::warn!(cause = %err, "write lost a race with a concurrent one");
                Self::Contention
            }
            // Every mutation checks what it refers to before it writes, so a foreign key can
            // only fail because a concurrent transaction deleted (or, deleting, met) a row
            // after that check (PostgreSQL runs writes under READ COMMITTED).
            crate::db::Failure::Other
                if matches!(
                    err.sql_err(),
                    Some(SqlErr::ForeignKeyConstraintViolation(_))
                ) =>
            {
                tracing::warn!(cause = %err, "a concurrent change removed a referenced row");
                Self::conflict(REFERENCE_CHANGED)
            }
            crate::db::Failure::Other => Self::internal(err),
        }
    }
}

impl From<TransactionError<AppError>> for AppError {
    fn from(err: TransactionError<AppError>) -> Self {
        match err {
            TransactionError::Connection(db) => Self::from(db),
            TransactionError::Transaction(app) => app,
        }
    }
}
