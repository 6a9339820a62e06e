//! Validated values: each type is built only by parsing, so a command holding one cannot carry
//! an unchecked string. Every failure names the field and the rule it broke.

use crate::error::{AppError, AppResult};
use std::fmt;

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
/// Most stages a journey may be created with, or reordered, in one change.
pub const STAGES_MAX: usize = 100;
/// Longest e-mail address.
pub const EMAIL_MAX: usize = 320;
/// Longest search text of a list filter: nothing longer can match a name, and a long one
/// makes an expensive pattern (`SQLite` refuses LIKE patterns over 50 000 bytes outright).
pub const SEARCH_MAX: usize = NAME_MAX;

/// Implements the read-only accessors every validated text shares.
macro_rules! text_value {
    ($ty:ident) => {
        impl $ty {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The validated text, owned.
            pub fn into_inner(self) -> String {
                self.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }
    };
}

/// A kebab-case key: lower-case letters and digits in words joined by single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);
text_value!(Slug);

impl Slug {
    /// Parses `value` as the slug of `field`.
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        let ok = !value.is_empty()
            && value.len() <= SLUG_MAX
            && value.split('-').all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(AppError::bad_input(
                field,
                format!(
                    "must be kebab-case (a-z, 0-9, single hyphens), 1 to {SLUG_MAX} characters"
                ),
            ))
        }
    }
}

/// A required display name or title: trimmed, not empty, at most [`NAME_MAX`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);
text_value!(Name);

impl Name {
    /// Parses `value` as the name of `field`.
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        required(field, value, NAME_MAX).map(Self)
    }

    /// Whether two names are the same ignoring case (role titles are unique that way).
    pub fn same_as(&self, other: &str) -> bool {
        self.0.to_lowercase() == other.to_lowercase()
    }
}

/// Text of at most `MAX` characters: trimmed, not empty, no control characters but line
/// breaks and tabs. Optional fields hold `Option<Text<MAX>>`, and blank input means `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text<const MAX: usize>(String);

/// A short text: a summary, note, goal, criterion or list item.
pub type ShortText = Text<TEXT_MAX>;
/// A long text: a description.
pub type LongText = Text<LONG_TEXT_MAX>;

impl<const MAX: usize> Text<MAX> {
    /// Parses required text.
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        required(field, value, MAX).map(Self)
    }

    /// Parses optional text: absent or blank is `None`.
    pub fn parse_optional(field: &str, value: Option<&str>) -> AppResult<Option<Self>> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => checked(field, v, MAX).map(|v| Some(Self(v))),
        }
    }

    /// The validated text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The validated text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize> fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(v: Text<MAX>) -> String {
        v.0
    }
}

/// The text of an optional value, for a column.
pub fn text_of<const MAX: usize>(v: Option<Text<MAX>>) -> Option<String> {
    v.map(Text::into_inner)
}

/// A list of at most [`LIST_MAX`] short texts, each required (pain points, motivations).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextList(Vec<String>);

impl TextList {
    /// Parses `values` as the list of `field`; items are named `field[i]`.
    pub fn parse(field: &str, values: &[String]) -> AppResult<Self> {
        list_len(field, values.len(), LIST_MAX)?;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| required(&format!("{field}[{i}]"), v, TEXT_MAX))
            .collect::<AppResult<Vec<_>>>()
            .map(Self)
    }

    /// The items.
    pub fn items(&self) -> &[String] {
        &self.0
    }

    /// The list as the JSON array it is stored as.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.0
                .iter()
                .cloned()
                .map(serde_json::Value::String)
                .collect(),
        )
    }
}

/// An absolute `http` or `https` URL with a host: no other scheme (`javascript:`, `data:`,
/// `file:`) can be stored and later rendered as a link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url(String);
text_value!(Url);

impl Url {
    /// Parses `value` as the URL of `field`.
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        let v = required(field, value, TEXT_MAX)?;
        let lower = v.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        match rest {
            Some(host)
                if !host.is_empty()
                    && !host.starts_with('/')
                    && !v.contains(char::is_whitespace) =>
            {
                Ok(Self(v))
            }
            _ => Err(AppError::bad_input(
                field,
                "must be an absolute http or https URL",
            )),
        }
    }
}

/// An e-mail address: one `@` with a user before it and a dotted domain after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);
text_value!(Email);

impl Email {
    /// Parses an optional address: absent or blank is `None`.
    pub fn parse_optional(field: &str, value: Option<&str>) -> AppResult<Option<Self>> {
        let Some(v) = Text::<EMAIL_MAX>::parse_optional(field, value)? else {
            return Ok(None);
        };
        let v = v.into_inner();
        match v.split_once('@') {
            Some((user, domain))
                if !user.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !v.contains(char::is_whitespace) =>
            {
                Ok(Some(Self(v)))
            }
            _ => Err(AppError::bad_input(field, "must be an e-mail address")),
        }
    }
}

/// A 1-based position in an ordered list of `len` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position(i32);

impl Position {
    /// Parses `value` as a position among `len` items (`len` counts a new item when inserting).
    pub fn parse(field: &str, value: i32, len: usize) -> AppResult<Self> {
        match usize::try_from(value) {
            Ok(v) if v >= 1 && v <= len => Ok(Self(value)),
            _ => Err(AppError::bad_input(
                field,
                format!("must be between 1 and {len}"),
            )),
        }
    }

    /// The position `index + 1` of the item at `index` in a list.
    pub fn of_index(index: usize) -> Self {
        Self(i32::try_from(index).map_or(i32::MAX, |i| i.saturating_add(1)))
    }

    /// The position as stored.
    pub fn get(self) -> i32 {
        self.0
    }
}

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

/// A list of at most `max` items.
pub fn list_len(field: &str, len: usize, max: usize) -> AppResult<()> {
    if len > max {
        return Err(AppError::bad_input(
            field,
            format!("must have at most {max} items"),
        ));
    }
    Ok(())
}

/// Required text: trimmed, not empty, at most `max` characters, no control characters.
fn required(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    checked(field, v, max)
}

fn checked(field: &str, v: &str, max: usize) -> AppResult<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(r: AppResult<impl fmt::Debug>) -> String {
        match r {
            Err(AppError::BadInput { field, rule }) => format!("{field}: {rule}"),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn slugs_are_kebab_case_and_bounded() {
        assert_eq!(Slug::parse("slug", "buyer-2").unwrap().as_str(), "buyer-2");
        for bad in [
            "",
            "Not A Slug!",
            "a--b",
            "-a",
            "a-",
            "Dev",
            "a_b",
            &"a".repeat(65),
        ] {
            assert!(rule(Slug::parse("slug", bad)).starts_with("slug: must be kebab-case"));
        }
    }

    #[test]
    fn names_are_trimmed_and_never_blank() {
        assert_eq!(Name::parse("name", "  Dev  ").unwrap().as_str(), "Dev");
        assert_eq!(rule(Name::parse("name", "   ")), "name: must not be empty");
        assert_eq!(
            rule(Name::parse("name", &"x".repeat(201))),
            "name: must be at most 200 characters"
        );
        assert_eq!(
            rule(Name::parse("name", "a\u{0}b")),
            "name: must not contain control characters"
        );
        assert!(Name::parse("t", "VP Eng").unwrap().same_as("vp eng"));
    }

    #[test]
    fn optional_text_treats_blank_as_absent_and_keeps_its_bound() {
        assert_eq!(
            ShortText::parse_optional("summary", Some("  ")).unwrap(),
            None
        );
        assert_eq!(ShortText::parse_optional("summary", None).unwrap(), None);
        assert_eq!(
            text_of(ShortText::parse_optional("summary", Some(" a\nb ")).unwrap()).as_deref(),
            Some("a\nb")
        );
        assert!(ShortText::parse_optional("s", Some(&"x".repeat(2001))).is_err());
        assert!(LongText::parse_optional("d", Some(&"x".repeat(2001))).is_ok());
    }

    #[test]
    fn text_lists_name_the_failing_item() {
        let items = vec!["ok".to_owned(), " ".to_owned()];
        assert_eq!(
            rule(TextList::parse("painPoints", &items)),
            "painPoints[1]: must not be empty"
        );
        let many = vec!["x".to_owned(); 51];
        assert_eq!(
            rule(TextList::parse("motivations", &many)),
            "motivations: must have at most 50 items"
        );
    }

    #[test]
    fn urls_are_http_or_https_with_a_host() {
        assert!(Url::parse("u", "https://handbook.example/personas").is_ok());
        assert!(Url::parse("u", "HTTP://example.com").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "https://",
            "https:///path",
            "ftp://example.com",
            "https://exa mple.com",
            "/relative",
        ] {
            assert_eq!(
                rule(Url::parse("sourceUrl", bad)),
                "sourceUrl: must be an absolute http or https URL",
                "{bad}"
            );
        }
    }

    #[test]
    fn emails_need_a_user_and_a_dotted_domain() {
        assert!(
            Email::parse_optional("e", Some("a@b.co"))
                .unwrap()
                .is_some()
        );
        assert!(Email::parse_optional("e", Some("")).unwrap().is_none());
        for bad in ["a", "@b.co", "a@b", "a@@b.co", "a@.co", "a b@c.co"] {
            assert_eq!(
                rule(Email::parse_optional("email", Some(bad))),
                "email: must be an e-mail address"
            );
        }
    }

    #[test]
    fn positions_are_one_based_and_within_the_list() {
        assert_eq!(Position::parse("p", 3, 3).unwrap().get(), 3);
        assert_eq!(
            rule(Position::parse("p", 0, 3)),
            "p: must be between 1 and 3"
        );
        assert_eq!(
            rule(Position::parse("p", 4, 3)),
            "p: must be between 1 and 3"
        );
        assert_eq!(
            rule(Position::parse("p", -1, 3)),
            "p: must be between 1 and 3"
        );
        assert_eq!(Position::of_index(0).get(), 1);
    }
}
