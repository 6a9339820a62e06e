//! The request limits in force, read from [`Settings`]: the schema applies async-graphql's own
//! as a backstop, and the HTTP transport's guard checks them first, and more strictly, before
//! anything runs.

use crate::config::Settings;
use std::time::Duration;

/// Most directives on one field, fragment spread, inline fragment or operation.
pub const MAX_DIRECTIVES: usize = 10;

/// The limits in force, from [`Settings`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest chain of fields in an operation, fragments expanded.
    pub max_depth: usize,
    /// Highest estimated cost of a request (a batch's requests added up).
    pub max_complexity: u64,
    /// Most aliased fields in a request (a batch's requests added up).
    pub max_aliases: u64,
    /// Most fields at the root of one operation.
    pub max_root_fields: u64,
    /// Whether `__schema` and `__type` are answered.
    pub introspection: bool,
    /// How long a request may run.
    pub request_timeout: Duration,
}

impl Limits {
    /// The limits `settings` describe.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            max_depth: settings.max_depth.max(1),
            max_complexity: settings.max_complexity.max(1),
            max_aliases: settings.max_aliases as u64,
            max_root_fields: settings.max_root_fields.max(1) as u64,
            introspection: settings.introspection,
            request_timeout: settings.request_timeout,
        }
    }

    /// Deepest nesting of selection sets, fragment spreads and inline fragments: what
    /// async-graphql calls the recursion depth. Twice the field depth leaves room for a
    /// fragment or inline fragment at every level.
    pub fn max_nesting(&self) -> usize {
        (self.max_depth * 2 + 2).max(32)
    }

    /// Deepest bracket nesting the raw text may have before it is even parsed: the
    /// selection nesting plus room for nested input values.
    pub fn max_brackets(&self) -> usize {
        self.max_nesting() + 32
    }
}
