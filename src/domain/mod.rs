//! The catalog's rules: validated values, the commands that change the catalog, and the one
//! write transaction they run in. Nothing here knows about GraphQL, HTTP or the command line
//! (`tests/api/layers.rs` checks it): the API, the seed and the catalog importer all build
//! commands and hand them to a [`change::Writer`].

/// The history: who changed what, when, with the values before and after.
pub mod audit;
/// The write transaction: begin, commands, history, versions, commit, announce.
pub mod change;
/// What a committed change announces, and the hook that hears it.
pub mod events;
/// Lookups by slug that answer `NOT_FOUND`.
pub mod find;
/// Journeys, their stages and positions, and their persona narrowing.
pub mod journey;
/// External links on personas, journeys, stages and teams.
pub mod link;
/// Personas, their roles and their links to other personas.
pub mod persona;
/// Validated values: parse, don't check.
pub mod types;

#[cfg(test)]
mod testing;
