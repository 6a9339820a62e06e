//! Opaque global IDs: `base64url("Type:42")`, stable across restarts and databases.

use crate::error::AppError;
use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// Encodes the global ID of row `id` of GraphQL type `type_name`.
pub fn encode(type_name: &str, id: i32) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
}

/// Decodes a global ID into its type name and row ID.
pub fn decode(id: &ID) -> Option<(String, i32)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (type_name, row) = text.split_once(':')?;
    Some((type_name.to_owned(), row.parse().ok()?))
}

/// Decodes a global ID that must name a `type_name`; `field` names the argument in errors.
pub fn decode_as(id: &ID, type_name: &str, field: &str) -> Result<i32, AppError> {
    match decode(id) {
        Some((t, row)) if t == type_name => Ok(row),
        _ => Err(AppError::bad_input(
            field,
            format!("must be the ID of a {type_name}"),
        )),
    }
}
