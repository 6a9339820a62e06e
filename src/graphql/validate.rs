//! Input validation shared by the mutations; each failure names the field and the rule.

use crate::error::{AppError, AppResult};

/// Longest slug.
pub const SLUG_MAX: usize = 64;
/// Longest name or title.
pub const NAME_MAX: usize = 200;
/// Longest short text (summary, note, goal, criteria, list item).
pub const TEXT_MAX: usize = 2000;
/// Longest long text (description).
pub const LONG_TEXT_MAX: usize = 10_000;
/// Most items in a text list.
pub const LIST_MAX: usize = 50;
/// Most stages a journey may be created with in one request.
pub const STAGES_MAX: usize = 100;

/// A list input of at most `max` items.
pub fn list_len(field: &str, len: usize, max: usize) -> AppResult<()> {
    if len > max {
        return Err(AppError::bad_input(
            field,
            format!("must have at most {max} items"),
        ));
    }
    Ok(())
}

/// Longest search text of a list filter: nothing longer can match a name, and a long one
/// makes an expensive pattern (SQLite refuses LIKE patterns over 50 000 bytes outright).
pub const SEARCH_MAX: usize = NAME_MAX;

/// A list filter's search text, at most [`SEARCH_MAX`] characters.
pub fn search(field: &str, value: &str) -> AppResult<()> {
    if value.chars().count() > SEARCH_MAX {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {SEARCH_MAX} characters"),
        ));
    }
    Ok(())
}

/// A kebab-case slug: lower-case letters and digits in words joined by single hyphens.
pub fn slug(field: &str, value: &str) -> AppResult<String> {
    let ok = !value.is_empty()
        && value.len() <= SLUG_MAX
        && value.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(value.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            format!("must be kebab-case (a-z, 0-9, single hyphens), 1 to {SLUG_MAX} characters"),
        ))
    }
}

/// A required name: trimmed, not empty, at most `NAME_MAX` characters.
pub fn name(field: &str, value: &str) -> AppResult<String> {
    required(field, value, NAME_MAX)
}

/// Required text: trimmed, not empty, at most `max` characters, no control characters but newlines and tabs.
pub fn required(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    text(field, v, max)
}

/// Optional text: trimmed; empty becomes `None`.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

fn text(field: &str, v: &str, max: usize) -> AppResult<String> {
    if v.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(AppError::bad_input(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}

/// A list of short texts, each required.
pub fn text_list(field: &str, values: &[String]) -> AppResult<Vec<String>> {
    if values.len() > LIST_MAX {
        return Err(AppError::bad_input(
            field,
            format!("must have at most {LIST_MAX} items"),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| required(&format!("{field}[{i}]"), v, TEXT_MAX))
        .collect()
}

/// An absolute http(s) URL.
pub fn url(field: &str, value: &str) -> AppResult<String> {
    let v = required(field, value, TEXT_MAX)?;
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !v.contains(char::is_whitespace) => Ok(v),
        _ => Err(AppError::bad_input(
            field,
            "must be an absolute http or https URL",
        )),
    }
}

/// An optional e-mail address: one `@` with text on both sides.
pub fn email(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(v) = optional(field, value, 320)? else {
        return Ok(None);
    };
    match v.split_once('@') {
        Some((user, domain))
            if !user.is_empty() && domain.contains('.') && !v.contains(char::is_whitespace) =>
        {
            Ok(Some(v))
        }
        _ => Err(AppError::bad_input(field, "must be an e-mail address")),
    }
}

/// A 1-based position in a list of `len` items (`len` includes a new item when inserting).
pub fn position(field: &str, value: i32, len: usize) -> AppResult<i32> {
    if value >= 1 && (value as usize) <= len {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            field,
            format!("must be between 1 and {len}"),
        ))
    }
}
