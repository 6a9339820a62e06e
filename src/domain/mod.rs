//! The catalog's rules: validated values, the commands that change the catalog, and the one
//! write transaction they run in. Nothing here knows about GraphQL, HTTP or the command line
//! (`tests/api/layers.rs` checks it): the API, the seed and the catalog importer all build
//! commands and hand them to a [`change::Writer`].

/// The versioned aggregate roots: persona, journey, team.
pub mod aggregate;
/// Team-persona alignment: which personas a team focuses on.
pub mod alignment;
/// The history: who changed what, when, with the values before and after.
pub mod audit;
/// The record of catalog loads, and the lock that serialises them.
pub mod catalog_load;
/// The write transaction: begin, commands, history, versions, commit, announce.
pub mod change;
/// What a committed change announces, and the hook that hears it.
pub mod events;
/// Every committed change in commit order, on every replica: the change log and who follows it.
pub mod feed;
/// Lookups by slug that answer `NOT_FOUND`.
pub mod find;
/// Journeys, their stages and positions, and their persona narrowing.
pub mod journey;
/// External links on personas, journeys, stages and teams.
pub mod link;
/// Stage ownership (RACI) and the DRI rule.
pub mod ownership;
/// People, who belong to teams and may be the DRI of a stage.
pub mod person;
/// Personas, their roles and their links to other personas.
pub mod persona;
/// Products, and how relevant each is to a persona.
pub mod product;
/// Teams and their members.
pub mod team;
/// API tokens: names, secrets and their hashes, creation and revocation.
pub mod token;
/// Validated values: parse, don't check.
pub mod types;

#[cfg(test)]
mod testing;
