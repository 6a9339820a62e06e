//! One seed run: the catalog file turned into domain commands inside one change. What is
//! missing from the database is created; what differs is reported field by field, and changed
//! only when the run overwrites.

mod journey;
mod persona;
mod team;

use super::model::{Catalog, ExternalLinkEntry};
use super::{Difference, SeedError, SeedReport};
use crate::domain::change::{Change, Command};
use crate::domain::link::{AddExternalLink, LinkSubject, UpdateExternalLink};
use crate::domain::types::{Name, Url};
use crate::error::AppError;
use entity::enums::SubjectType;
use entity::external_link;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

/// A seed run in progress.
pub(super) struct Seeder<'c> {
    change: &'c mut Change,
    overwrite: bool,
    report: SeedReport,
}

impl<'c> Seeder<'c> {
    pub(super) fn new(change: &'c mut Change, overwrite: bool) -> Self {
        Self {
            change,
            overwrite,
            report: SeedReport::default(),
        }
    }

    /// Writes the catalog: products and personas first, since everything else refers to them.
    pub(super) async fn run(mut self, c: &Catalog) -> Result<SeedReport, SeedError> {
        persona::products(&mut self, c).await?;
        persona::personas(&mut self, c).await?;
        persona::persona_links(&mut self, c).await?;
        team::teams(&mut self, c).await?;
        team::people(&mut self, c).await?;
        team::alignments(&mut self, c).await?;
        journey::journeys(&mut self, c).await?;
        journey::ownership(&mut self, c).await?;
        Ok(self.report)
    }

    /// Applies `cmd` within the run's change, naming `record` should it be refused.
    async fn apply<C: Command>(&mut self, record: &str, cmd: C) -> Result<C::Output, SeedError> {
        self.change.apply(&cmd).await.map_err(|e| at(record, e))
    }

    fn db(&self) -> &sea_orm::DatabaseTransaction {
        self.change.db()
    }

    /// Keeps the differences `d` found; whether the run should now overwrite them.
    fn differs(&mut self, d: Diff) -> bool {
        let any = !d.found.is_empty();
        self.report.differences.extend(d.found);
        any && self.overwrite
    }

    /// The links of `entries` on subject `kind`/`id` (`key` names it): missing ones added,
    /// differing ones reported (and overwritten). Matched by URL.
    async fn links(
        &mut self,
        kind: SubjectType,
        id: i32,
        key: &str,
        entries: &[ExternalLinkEntry],
    ) -> Result<(), SeedError> {
        if entries.is_empty() {
            return Ok(());
        }
        let existing = external_link::Entity::find()
            .filter(external_link::Column::SubjectType.eq(kind))
            .filter(external_link::Column::SubjectId.eq(id))
            .order_by_asc(external_link::Column::Id)
            .all(self.db())
            .await
            .map_err(|e| at(key, e.into()))?;
        for (i, l) in entries.iter().enumerate() {
            let record = format!("external link {} of {key}", l.url);
            let label = Name::parse(&format!("externalLinks[{i}].label"), &l.label)
                .map_err(|e| at(key, e))?;
            match existing.iter().find(|x| x.url == l.url) {
                None => {
                    let url = Url::parse(&format!("externalLinks[{i}].url"), &l.url)
                        .map_err(|e| at(key, e))?;
                    let cmd = AddExternalLink {
                        subject: LinkSubject { kind, id },
                        subject_key: key.to_owned(),
                        label,
                        url,
                        kind: l.kind,
                        access: l.access,
                    };
                    self.apply(&record, cmd).await?;
                    self.report.inserted += 1;
                }
                Some(row) => {
                    let mut d = Diff::new(&record);
                    let mut cmd = UpdateExternalLink {
                        id: row.id,
                        key: record.clone(),
                        label: None,
                        url: None,
                        kind: None,
                        access: None,
                    };
                    if d.field("label", row.label.as_str(), label.as_str()) {
                        cmd.label = Some(label);
                    }
                    if d.field("kind", &row.kind, &l.kind) {
                        cmd.kind = Some(l.kind);
                    }
                    if d.field("access", &row.access, &l.access) {
                        cmd.access = Some(l.access);
                    }
                    if self.differs(d) {
                        self.apply(&record, cmd).await?;
                        self.report.updated += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The fields of one record where the database and the file disagree.
struct Diff {
    record: String,
    found: Vec<Difference>,
}

impl Diff {
    fn new(record: &str) -> Self {
        Self {
            record: record.to_owned(),
            found: Vec::new(),
        }
    }

    /// Notes `field` when the database's value is not the file's; whether it differs.
    fn field<T: Serialize + PartialEq + ?Sized>(
        &mut self,
        field: &'static str,
        database: &T,
        file: &T,
    ) -> bool {
        if database == file {
            return false;
        }
        self.found.push(Difference {
            record: self.record.clone(),
            field,
            database: shown(database),
            file: shown(file),
        });
        true
    }
}

/// A value as a difference line shows it: JSON (strings quoted, null for nothing).
fn shown<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "?".to_owned())
}

/// `err`, met while writing `record`.
fn at(record: &str, err: AppError) -> SeedError {
    SeedError::Refused {
        record: record.to_owned(),
        error: err,
    }
}
