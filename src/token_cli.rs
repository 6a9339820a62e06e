//! `persona-graph token create|list|revoke`: managing API tokens from the command line, as the
//! command-line actor. The rules and the writes are `domain::token`'s; this parses arguments
//! and prints.

use crate::domain::audit::Actor;
use crate::domain::change::Writer;
use crate::domain::token::{
    CreateApiToken, RevokeApiToken, TokenName, TokenRef, is_active, role_name,
};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use entity::api_token::{self, TokenRole};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

/// `persona-graph token ...`: manage API tokens from the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// The token commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once, on standard output (only the token, on its own line).
    Create {
        /// A unique name for the token; it names the actor in the change history.
        #[arg(long)]
        name: String,
        /// What the token may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Days until the token expires; it never expires when omitted.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token for good, by name or ID.
    Revoke {
        /// The token's name.
        #[arg(long, required_unless_present = "id", conflicts_with = "id")]
        name: Option<String>,
        /// The token's ID (as `token list` shows it).
        #[arg(long)]
        id: Option<i32>,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Reads the catalog (useful when reads require a token).
    Viewer,
    /// Reads and changes the catalog.
    Editor,
    /// Everything, plus managing tokens and reading the global audit log.
    Admin,
}

impl From<RoleArg> for TokenRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Self::Viewer,
            RoleArg::Editor => Self::Editor,
            RoleArg::Admin => Self::Admin,
        }
    }
}

/// What a token command prints: `stdout` for scripts, `stderr` for people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// What scripts read: a new token's secret, the list.
    pub stdout: String,
    /// What people read: what was done.
    pub stderr: String,
}

fn format_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// Runs a token command against `db`, as the command-line actor.
pub async fn run_command(db: &DatabaseConnection, cmd: &TokenCommand) -> AppResult<CommandOutput> {
    let actor = Actor::cli();
    let writer = Writer::new(db.clone());
    match cmd {
        TokenCommand::Create {
            name,
            role,
            expires_in_days,
        } => {
            let expires_at = expires_in_days.map(|d| Utc::now() + Duration::days(d.into()));
            let create = CreateApiToken {
                name: TokenName::parse("name", name)?,
                role: (*role).into(),
                expires_at,
            };
            let created = writer.run(&actor, &create).await?;
            let (row, secret) = (created.token, created.secret);
            let until = match row.expires_at {
                Some(t) => format!("until {}", format_time(Some(t))),
                None => "without expiry".to_owned(),
            };
            Ok(CommandOutput {
                stdout: format!("{secret}\n"),
                stderr: format!(
                    "created token {} (id {}, role {}, {until}); it is shown only this once, \
                     send it as `Authorization: Bearer <token>`\n",
                    row.name,
                    row.id,
                    role_name(row.role)
                ),
            })
        }
        TokenCommand::List => {
            let now = Utc::now();
            let mut out = format!(
                "{:<6} {:<24} {:<7} {:<8} {:<20} {:<20} {:<20}\n",
                "ID", "NAME", "ROLE", "STATUS", "CREATED", "EXPIRES", "LAST USED"
            );
            for t in list_tokens(db).await? {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else if !is_active(&t, now) {
                    "expired"
                } else {
                    "active"
                };
                out.push_str(&format!(
                    "{:<6} {:<24} {:<7} {:<8} {:<20} {:<20} {:<20}\n",
                    t.id,
                    t.name,
                    role_name(t.role),
                    status,
                    format_time(Some(t.created_at)),
                    format_time(t.expires_at),
                    format_time(t.last_used_at)
                ));
            }
            Ok(CommandOutput {
                stdout: out,
                stderr: String::new(),
            })
        }
        TokenCommand::Revoke { name, id } => {
            let which = match (id, name) {
                (Some(id), _) => TokenRef::Id(*id),
                (None, Some(n)) => TokenRef::Name(n.clone()),
                (None, None) => return Err(AppError::bad_input("name", "name a token or its id")),
            };
            let row = writer.run(&actor, &RevokeApiToken { which }).await?;
            Ok(CommandOutput {
                stdout: String::new(),
                stderr: format!(
                    "revoked token {} (id {}) at {}\n",
                    row.name,
                    row.id,
                    format_time(row.revoked_at)
                ),
            })
        }
    }
}

/// Every token, oldest first.
async fn list_tokens(db: &DatabaseConnection) -> AppResult<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await?)
}
