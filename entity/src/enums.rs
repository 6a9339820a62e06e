//! Enumerations stored as upper-case text columns, identical on SQLite and PostgreSQL.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $(
                #[sea_orm(string_value = $text)]
                $variant,
            )+
        }

        impl $name {
            /// The text stored in the database for this value.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }
        }
    };
}

text_enum!(
    /// The kind of go-to-market persona.
    PersonaKind { Dev = "DEV", Buyer = "BUYER", Admin = "ADMIN" }
);
text_enum!(
    /// Whether a persona or journey is in use.
    Status { Active = "ACTIVE", Archived = "ARCHIVED" }
);
text_enum!(
    /// How acutely a persona feels the pain.
    PainIntensity { Low = "LOW", Moderate = "MODERATE", High = "HIGH", VeryHigh = "VERY_HIGH" }
);
text_enum!(
    /// How broad the value proposition is for a persona.
    ValuePropScope { Narrow = "NARROW", Broad = "BROAD" }
);
text_enum!(
    /// Where a catalog item comes from.
    Provenance {
        Handbook = "HANDBOOK",
        HandbookHistorical = "HANDBOOK_HISTORICAL",
        Derived = "DERIVED",
        Illustrative = "ILLUSTRATIVE",
        Editor = "EDITOR",
    }
);
text_enum!(
    /// How two personas relate.
    PersonaLinkKind { ConnectsTo = "CONNECTS_TO", SupersededBy = "SUPERSEDED_BY", Influences = "INFLUENCES" }
);
text_enum!(
    /// How relevant a product is to a persona.
    RelevanceLevel {
        Primary = "PRIMARY",
        Secondary = "SECONDARY",
        LessRelevant = "LESS_RELEVANT",
        NotRelevant = "NOT_RELEVANT",
    }
);
text_enum!(
    /// The department a team belongs to.
    Department {
        Product = "PRODUCT",
        Engineering = "ENGINEERING",
        Design = "DESIGN",
        Marketing = "MARKETING",
        Sales = "SALES",
        TechnicalSuccess = "TECHNICAL_SUCCESS",
        DataAnalytics = "DATA_ANALYTICS",
        Leadership = "LEADERSHIP",
        Other = "OTHER",
    }
);
text_enum!(
    /// A person's role in a team.
    MembershipRole { Lead = "LEAD", Member = "MEMBER" }
);
text_enum!(
    /// A team's RACI responsibility for a journey stage.
    Responsibility {
        Responsible = "RESPONSIBLE",
        Accountable = "ACCOUNTABLE",
        Consulted = "CONSULTED",
        Informed = "INFORMED",
    }
);
text_enum!(
    /// How closely a team is aligned to a persona.
    AlignmentLevel { Primary = "PRIMARY", Secondary = "SECONDARY" }
);
text_enum!(
    /// The go-to-market motion a team uses with a persona.
    Motion { SelfServe = "SELF_SERVE", SalesLed = "SALES_LED" }
);
text_enum!(
    /// The kind of catalog item an external link is attached to.
    SubjectType { Persona = "PERSONA", Journey = "JOURNEY", Stage = "STAGE", Team = "TEAM" }
);
text_enum!(
    /// The kind of document an external link points at.
    LinkKind { Slides = "SLIDES", Doc = "DOC", Page = "PAGE", Video = "VIDEO", Other = "OTHER" }
);
text_enum!(
    /// Who can open an external link.
    LinkAccess { Public = "PUBLIC", Internal = "INTERNAL" }
);
