//! GraphQL enums, mirrored one to one from the stored enums of `entity::enums`.

use async_graphql::Enum;
use entity::enums;

/// Declares a GraphQL enum with the same variants as a stored enum, and conversions both ways.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl From<enums::$name> for $name {
            fn from(value: enums::$name) -> Self {
                match value { $(enums::$name::$variant => Self::$variant,)+ }
            }
        }

        impl From<$name> for enums::$name {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => Self::$variant,)+ }
            }
        }
    };
}

mirror_enum!(
    /// The kind of go-to-market persona.
    PersonaKind {
        /// The individual developer, who self-selects.
        Dev,
        /// A buyer: an engineering, security or platform leader.
        Buyer,
        /// An administrator of the product (historical personas).
        Admin,
    }
);
mirror_enum!(
    /// Whether a persona or journey is in use.
    Status {
        /// In use.
        Active,
        /// Kept for history; no longer in use.
        Archived,
    }
);
mirror_enum!(
    /// How acutely a persona feels the pain the product solves.
    PainIntensity {
        /// Mild pain.
        Low,
        /// Noticeable pain.
        Moderate,
        /// Serious pain.
        High,
        /// The most acute pain.
        VeryHigh,
    }
);
mirror_enum!(
    /// How broad the value proposition is for a persona.
    ValuePropScope {
        /// A narrow, focused value proposition.
        Narrow,
        /// A broad value proposition.
        Broad,
    }
);
mirror_enum!(
    /// Where a catalog item comes from.
    Provenance {
        /// Stated on the personas handbook page.
        Handbook,
        /// On an earlier version of the handbook page, or a page it linked to.
        HandbookHistorical,
        /// Derived from another page of the same handbook.
        Derived,
        /// An assumption standing in for material the handbook does not show.
        Illustrative,
        /// Entered by an editor through the API.
        Editor,
    }
);
mirror_enum!(
    /// How one persona relates to another.
    PersonaLinkKind {
        /// The persona works with, or leads to, the other.
        ConnectsTo,
        /// The persona has been replaced by the other.
        SupersededBy,
        /// The persona influences the other's decisions.
        Influences,
    }
);
mirror_enum!(
    /// How relevant a product is to a persona.
    RelevanceLevel {
        /// The product is aimed at this persona.
        Primary,
        /// The product matters to this persona, but not first.
        Secondary,
        /// Less relevant to this persona (as a buyer).
        LessRelevant,
        /// Not relevant to this persona.
        NotRelevant,
    }
);
mirror_enum!(
    /// The department a team belongs to.
    Department {
        /// Product management.
        Product,
        /// Engineering.
        Engineering,
        /// Design.
        Design,
        /// Marketing.
        Marketing,
        /// Sales.
        Sales,
        /// Technical success: customer engineering, advisors, services.
        TechnicalSuccess,
        /// Data and analytics.
        DataAnalytics,
        /// Leadership.
        Leadership,
        /// Any other department.
        Other,
    }
);
mirror_enum!(
    /// A person's role in a team.
    MembershipRole {
        /// Leads the team.
        Lead,
        /// A member of the team.
        Member,
    }
);
mirror_enum!(
    /// A team's RACI responsibility for a journey stage.
    Responsibility {
        /// Does the work.
        Responsible,
        /// Answers for the outcome; at most one team per stage.
        Accountable,
        /// Gives input before decisions.
        Consulted,
        /// Is kept up to date.
        Informed,
    }
);
mirror_enum!(
    /// How closely a team is aligned to a persona.
    AlignmentLevel {
        /// The team's main focus.
        Primary,
        /// A secondary focus.
        Secondary,
    }
);
mirror_enum!(
    /// The go-to-market motion a team uses with a persona.
    Motion {
        /// The persona adopts the product on their own.
        SelfServe,
        /// A sales team leads the persona to a purchase.
        SalesLed,
    }
);
mirror_enum!(
    /// The kind of document an external link points at.
    LinkKind {
        /// A slide deck.
        Slides,
        /// A document.
        Doc,
        /// A web page.
        Page,
        /// A video.
        Video,
        /// Anything else.
        Other,
    }
);
mirror_enum!(
    /// Who can open an external link.
    LinkAccess {
        /// Anyone.
        Public,
        /// Only people inside the company.
        Internal,
    }
);

/// The direction of an ordering.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}
