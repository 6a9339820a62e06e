//! The `Node` interface and `node(id:)`: refetch any object by its global ID.

use super::journey::{Journey, Stage};
use super::loaders::{JourneyById, PersonById, PersonaById, ProductById, StageById, TeamById};
use super::persona::Persona;
use super::product::Product;
use super::team::{Person, Team};
use super::{id, loader};
use async_graphql::{Context, ID, Interface, Object, Result, ResultExt};

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID, usable with `node(id:)`."))]
pub enum Node {
    /// A persona.
    Persona(Persona),
    /// A journey.
    Journey(Journey),
    /// A journey stage.
    Stage(Stage),
    /// A team.
    Team(Team),
    /// A person.
    Person(Person),
    /// A product.
    Product(Product),
}

/// `node(id:)`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by global ID, or null when it does not exist.
    async fn node(&self, ctx: &Context<'_>, #[graphql(desc = "A global ID.")] id: ID) -> Result<Option<Node>> {
        let Some((type_name, row)) = id::decode(&id) else { return Ok(None) };
        let loader = loader(ctx).extend()?;
        Ok(match type_name.as_str() {
            "Persona" => loader.load_one(PersonaById(row)).await.extend()?.map(|m| Node::Persona(Persona(m))),
            "Journey" => loader.load_one(JourneyById(row)).await.extend()?.map(|m| Node::Journey(Journey(m))),
            "Stage" => loader.load_one(StageById(row)).await.extend()?.map(|m| Node::Stage(Stage(m))),
            "Team" => loader.load_one(TeamById(row)).await.extend()?.map(|m| Node::Team(Team(m))),
            "Person" => loader.load_one(PersonById(row)).await.extend()?.map(|m| Node::Person(Person(m))),
            "Product" => loader.load_one(ProductById(row)).await.extend()?.map(|m| Node::Product(Product(m))),
            _ => None,
        })
    }
}
