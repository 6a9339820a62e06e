//! Links to documents about a persona, journey, stage or team: the `ExternalLink` object and
//! its mutations.

use super::enums::{LinkAccess, LinkKind};
use super::id;
use async_graphql::{ID, Object};
use entity::external_link;

/// A link to a document about a catalog item, such as slides the handbook cannot show.
pub struct ExternalLink(pub external_link::Model);

#[Object]
impl ExternalLink {
    /// Global ID.
    async fn id(&self) -> ID {
        id::encode("ExternalLink", self.0.id)
    }
    /// What the link shows.
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// Where it points.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The kind of document.
    async fn kind(&self) -> LinkKind {
        self.0.kind.into()
    }
    /// Who can open it.
    async fn access(&self) -> LinkAccess {
        self.0.access.into()
    }
}
