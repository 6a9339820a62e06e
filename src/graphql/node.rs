//! The `Node` interface and `node(id:)`: refetch any object by its global ID.

use super::external_link::ExternalLink;
use super::journey::{Journey, Stage};
use super::loaders::{
    AlignmentById, ExternalLinkById, JourneyById, MembershipById, OwnershipById, PersonById,
    PersonaById, PersonaLinkById, ProductById, RelevanceById, RoleById, StageById, TeamById,
};
use super::ownership::{StageOwnership, TeamAlignment};
use super::persona::{Persona, PersonaLink, Role};
use super::product::{Product, ProductRelevance};
use super::team::{Person, Team, TeamMember};
use super::{id, loader};
use async_graphql::{Context, ID, Interface, Object, Result, ResultExt};

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID, usable with `node(id:)`."))]
pub enum Node {
    /// A persona.
    Persona(Persona),
    /// A persona's example job title.
    Role(Role),
    /// A link between personas.
    PersonaLink(PersonaLink),
    /// A product.
    Product(Product),
    /// A product's relevance to a persona.
    ProductRelevance(ProductRelevance),
    /// A journey.
    Journey(Journey),
    /// A journey stage.
    Stage(Stage),
    /// A team's responsibility for a stage.
    StageOwnership(StageOwnership),
    /// A team.
    Team(Team),
    /// A team's alignment to a persona.
    TeamAlignment(TeamAlignment),
    /// A person.
    Person(Person),
    /// A person's membership of a team.
    TeamMember(TeamMember),
    /// A link to a document.
    ExternalLink(ExternalLink),
}

/// `node(id:)`.
#[derive(Default)]
pub struct NodeQuery;

/// Loads the row behind key `$key` and wraps it as `Node::$variant`.
macro_rules! load_node {
    ($loader:expr, $key:ident($row:expr) => $variant:ident) => {
        $loader
            .load_one($key($row))
            .await
            .extend()?
            .map(|m| Node::$variant($variant(m)))
    };
}

#[Object]
impl NodeQuery {
    /// Any object by global ID, or null when it does not exist.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID.")] id: ID,
    ) -> Result<Option<Node>> {
        let Some((type_name, row)) = id::decode(&id) else {
            return Ok(None);
        };
        let l = loader(ctx).extend()?;
        Ok(match type_name.as_str() {
            "Persona" => load_node!(l, PersonaById(row) => Persona),
            "Role" => load_node!(l, RoleById(row) => Role),
            "PersonaLink" => load_node!(l, PersonaLinkById(row) => PersonaLink),
            "Product" => load_node!(l, ProductById(row) => Product),
            "ProductRelevance" => load_node!(l, RelevanceById(row) => ProductRelevance),
            "Journey" => load_node!(l, JourneyById(row) => Journey),
            "Stage" => load_node!(l, StageById(row) => Stage),
            "StageOwnership" => load_node!(l, OwnershipById(row) => StageOwnership),
            "Team" => load_node!(l, TeamById(row) => Team),
            "TeamAlignment" => load_node!(l, AlignmentById(row) => TeamAlignment),
            "Person" => load_node!(l, PersonById(row) => Person),
            "TeamMember" => load_node!(l, MembershipById(row) => TeamMember),
            "ExternalLink" => load_node!(l, ExternalLinkById(row) => ExternalLink),
            _ => None,
        })
    }
}
