//! Parsed documents shared across requests: a client that sends the same query text again
//! (a dashboard polling, a page re-rendering) skips the parser. The cache itself lives in
//! [`crate::limits::Guard`], which parses every request before it runs.

/// How many distinct documents are kept.
pub const CAPACITY: usize = 512;
/// Longer documents are parsed every time: caching them would let a client fill memory.
pub const MAX_CACHED_BYTES: usize = 16 * 1024;
