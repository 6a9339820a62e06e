//! What a committed change announces, and who may listen: the hook live updates plug into.
//! A [`Listener`] hears each change once, after it committed: the process's change feed
//! (`super::feed`) listens, to wake its pump at once.

use super::audit::Event;
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;

/// One record a committed change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The command that changed it, named as its mutation.
    pub action: &'static str,
    /// The kind of record.
    pub subject: AuditSubject,
    /// Its row ID.
    pub id: i32,
    /// Its human key (slug, `journey/key`, token name).
    pub key: Option<String>,
    /// The version of its aggregate after the change, when it has one.
    pub version: Option<i32>,
}

impl Notice {
    pub(super) fn of(event: &Event, version: Option<i32>) -> Self {
        Self {
            action: event.action,
            subject: event.subject.kind,
            id: event.subject.id,
            key: event.subject.key.clone(),
            version,
        }
    }
}

/// A change that has committed: who made it, when, and what it touched, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The actor's name.
    pub actor: String,
    /// When the change was made.
    pub at: DateTime<Utc>,
    /// The records it touched, one per history event.
    pub notices: Vec<Notice>,
}

/// Hears every committed change. Called on the writer's task right after commit, so it must
/// not block: hand the change on (a channel, a notification) and return.
pub trait Listener: Send + Sync {
    /// `change` has committed.
    fn committed(&self, change: &Committed);
}

/// The listener of a writer nobody listens to.
pub(super) struct Silent;

impl Listener for Silent {
    fn committed(&self, _: &Committed) {}
}
