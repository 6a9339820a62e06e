//! The versioned aggregate roots: a persona, journey or team, with the parts that belong to it.
//! Which change counts against which root is the rule in [`super::change`].

/// A versioned aggregate root, by row ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// A persona, with its roles, links and product relevance.
    Persona(i32),
    /// A journey, with its stages, their owners and its narrowing.
    Journey(i32),
    /// A team, with its members and alignments.
    Team(i32),
}

impl Aggregate {
    /// The aggregate's kind, as messages name it.
    pub fn what(self) -> &'static str {
        match self {
            Self::Persona(_) => "persona",
            Self::Journey(_) => "journey",
            Self::Team(_) => "team",
        }
    }

    /// Whether `kind` #`id` is this aggregate's root row itself (not one of its parts).
    pub(super) fn is_root(self, kind: entity::audit_event::AuditSubject, id: i32) -> bool {
        use entity::audit_event::AuditSubject as S;
        matches!(
            (self, kind),
            (Self::Persona(a), S::Persona) | (Self::Journey(a), S::Journey) | (Self::Team(a), S::Team)
                if a == id
        )
    }

    pub(super) fn id(self) -> i32 {
        match self {
            Self::Persona(id) | Self::Journey(id) | Self::Team(id) => id,
        }
    }
}
