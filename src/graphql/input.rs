//! Turning GraphQL input values into the domain's validated ones: the conversions every
//! `...Input::command()` shares. A field left out keeps its value (`None`); an explicit null
//! clears it (`Some(None)`).

use crate::domain::types::{Text, Url};
use crate::error::AppResult;
use async_graphql::MaybeUndefined;

/// A change to an optional text field of at most `MAX` characters.
pub fn text_patch<const MAX: usize>(
    field: &str,
    v: &MaybeUndefined<String>,
) -> AppResult<Option<Option<Text<MAX>>>> {
    match v {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(s) => Ok(Some(Text::parse_optional(field, Some(s))?)),
    }
}

/// A change to an optional URL field.
pub fn url_patch(field: &str, v: &MaybeUndefined<String>) -> AppResult<Option<Option<Url>>> {
    match v {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(s) => Ok(Some(Some(Url::parse(field, s)?))),
    }
}

/// A change to an optional enum field, converted to the stored enum.
pub fn enum_patch<T: Copy, U: From<T>>(v: &MaybeUndefined<T>) -> Option<Option<U>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(x) => Some(Some(U::from(*x))),
    }
}

/// An optional text, validated when given.
pub fn optional_text<const MAX: usize>(
    field: &str,
    v: Option<&str>,
) -> AppResult<Option<Text<MAX>>> {
    Text::parse_optional(field, v)
}
