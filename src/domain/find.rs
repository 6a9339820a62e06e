//! Lookups by human key that answer `NOT_FOUND`: the references every command and query
//! resolves first. A key that does not exist is answered with the existing keys nearest to it
//! ("did you mean `devex-marketing`?"), so a typo is one step from its fix.

use crate::error::{AppError, AppResult};
use entity::{journey, person, persona, product, team};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// How many keys sharing the missing key's first letters are compared with it.
const CANDIDATES: u64 = 500;
/// How many suggestions a `NOT_FOUND` names at most.
const SUGGESTIONS: usize = 3;

/// Finds a persona by slug or answers `NOT_FOUND`.
pub async fn persona_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<persona::Model> {
    match persona::Entity::find()
        .filter(persona::Column::Slug.eq(slug))
        .one(db)
        .await?
    {
        Some(m) => Ok(m),
        None => Err(missing::<persona::Entity>(db, "persona", persona::Column::Slug, slug).await),
    }
}

/// Finds a journey by slug or answers `NOT_FOUND`.
pub async fn journey_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<journey::Model> {
    match journey::Entity::find()
        .filter(journey::Column::Slug.eq(slug))
        .one(db)
        .await?
    {
        Some(m) => Ok(m),
        None => Err(missing::<journey::Entity>(db, "journey", journey::Column::Slug, slug).await),
    }
}

/// Finds a team by slug or answers `NOT_FOUND`.
pub async fn team_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<team::Model> {
    match team::Entity::find()
        .filter(team::Column::Slug.eq(slug))
        .one(db)
        .await?
    {
        Some(m) => Ok(m),
        None => Err(missing::<team::Entity>(db, "team", team::Column::Slug, slug).await),
    }
}

/// Finds a person by slug or answers `NOT_FOUND`.
pub async fn person_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<person::Model> {
    match person::Entity::find()
        .filter(person::Column::Slug.eq(slug))
        .one(db)
        .await?
    {
        Some(m) => Ok(m),
        None => Err(missing::<person::Entity>(db, "person", person::Column::Slug, slug).await),
    }
}

/// Finds a product by slug or answers `NOT_FOUND`.
pub async fn product_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<product::Model> {
    match product::Entity::find()
        .filter(product::Column::Slug.eq(slug))
        .one(db)
        .await?
    {
        Some(m) => Ok(m),
        None => Err(missing::<product::Entity>(db, "product", product::Column::Slug, slug).await),
    }
}

/// The `NOT_FOUND` of `key` in `column` of `E`, with the nearest existing keys. The candidates
/// share the key's first letter and are bounded in number, so a miss costs one small read
/// whatever the size of the catalog; should that read fail, the answer has no suggestions.
pub async fn missing<E: EntityTrait>(
    db: &impl ConnectionTrait,
    what: &'static str,
    column: E::Column,
    key: &str,
) -> AppError {
    let mut err = AppError::not_found(what, key);
    let Some(first) = key.chars().next().filter(char::is_ascii_alphanumeric) else {
        return err;
    };
    let candidates: Vec<String> = E::find()
        .select_only()
        .column(column)
        .filter(column.starts_with(first.to_string()))
        .order_by_asc(column)
        .limit(CANDIDATES)
        .into_tuple()
        .all(db)
        .await
        .unwrap_or_default();
    if let AppError::NotFound { suggestions, .. } = &mut err {
        *suggestions = nearest(key, candidates);
    }
    err
}

/// The candidates within a few edits of `key` (a third of its length, at least two), nearest
/// first, at most [`SUGGESTIONS`].
fn nearest(key: &str, candidates: Vec<String>) -> Vec<String> {
    let most = (key.chars().count() / 3).max(2);
    let mut close: Vec<(usize, String)> = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(key, &c), c))
        .filter(|(d, _)| *d <= most)
        .collect();
    close.sort();
    close
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_keys_are_suggested_nearest_first_and_far_ones_never() {
        let keys = [
            "devex-marketing",
            "dev-relations",
            "design",
            "data-analytics",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(nearest("devex-marketin", keys.clone()), ["devex-marketing"]);
        assert_eq!(nearest("desing", keys.clone()), ["design"]);
        assert!(nearest("zzz", keys).is_empty());
    }

    #[test]
    fn a_not_found_names_its_suggestions() {
        let mut err = AppError::not_found("team", "devex-marketin");
        assert_eq!(err.to_string(), "team not found: devex-marketin");
        if let AppError::NotFound { suggestions, .. } = &mut err {
            *suggestions = vec!["devex-marketing".into()];
        }
        assert_eq!(
            err.to_string(),
            "team not found: devex-marketin; did you mean `devex-marketing`?"
        );
    }
}
