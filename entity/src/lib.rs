//! SeaORM entities of the persona catalog: one module per table, plus the enums stored as text.

pub mod api_token;
pub mod audit_event;
pub mod catalog_seed;
pub mod enums;
pub mod external_link;
pub mod journey;
pub mod journey_persona;
pub mod journey_stage;
pub mod person;
pub mod persona;
pub mod persona_link;
pub mod persona_product_relevance;
pub mod product;
pub mod role;
pub mod stage_ownership;
pub mod team;
pub mod team_membership;
pub mod team_persona_alignment;
