//! What the schema's fields return, as far as cost is concerned (a list, a paginated
//! connection, which type), read once from the schema's SDL plus the introspection types.

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{BaseType, TypeKind, TypeSystemDefinition};
use std::collections::HashMap;

/// How one field of the schema returns its value, as far as cost is concerned.
#[derive(Debug, Clone)]
pub(super) struct FieldShape {
    /// The named type inside any list and non-null wrappers.
    pub(super) ty: String,
    /// Whether the field returns a list.
    pub(super) list: bool,
    /// Whether the field is a paginated connection (takes `first` or `last`).
    pub(super) paged: bool,
}

/// The fields of every object and interface type, read from the schema's SDL.
#[derive(Debug, Default)]
pub(super) struct Shape {
    types: HashMap<String, HashMap<String, FieldShape>>,
    pub(super) query: String,
    pub(super) mutation: String,
    pub(super) subscription: String,
}

/// The introspection types the SDL leaves out, reduced to what costs something: which of
/// their fields return objects, and which of those are lists.
const INTROSPECTION_SDL: &str = r"
type __Schema { types: [__Type!]! queryType: __Type! mutationType: __Type subscriptionType: __Type directives: [__Directive!]! }
type __Type { fields: [__Field!] interfaces: [__Type!] possibleTypes: [__Type!] enumValues: [__EnumValue!] inputFields: [__InputValue!] ofType: __Type }
type __Field { args: [__InputValue!]! type: __Type! }
type __InputValue { type: __Type! }
type __EnumValue { name: String! }
type __Directive { args: [__InputValue!]! }
";

impl Shape {
    pub(super) fn from_sdl(sdl: &str) -> Self {
        let mut shape = Shape {
            query: "Query".into(),
            mutation: "Mutation".into(),
            subscription: "Subscription".into(),
            ..Default::default()
        };
        for source in [sdl, INTROSPECTION_SDL] {
            let doc = match parse_schema(source) {
                Ok(doc) => doc,
                Err(e) => {
                    // Costs then count every field once: weaker, never wrong.
                    tracing::error!(error = %e, "could not read the schema for query limits");
                    continue;
                }
            };
            for def in doc.definitions {
                match def {
                    TypeSystemDefinition::Schema(s) => {
                        let s = s.node;
                        if let Some(q) = s.query {
                            shape.query = q.node.to_string();
                        }
                        if let Some(m) = s.mutation {
                            shape.mutation = m.node.to_string();
                        }
                        if let Some(sub) = s.subscription {
                            shape.subscription = sub.node.to_string();
                        }
                    }
                    TypeSystemDefinition::Type(t) => {
                        let fields = match &t.node.kind {
                            TypeKind::Object(o) => &o.fields,
                            TypeKind::Interface(i) => &i.fields,
                            _ => continue,
                        };
                        let map = shape.types.entry(t.node.name.node.to_string()).or_default();
                        for f in fields {
                            let f = &f.node;
                            let mut ty = &f.ty.node;
                            let mut list = false;
                            while let BaseType::List(inner) = &ty.base {
                                list = true;
                                ty = inner;
                            }
                            let named = match &ty.base {
                                BaseType::Named(n) => n.to_string(),
                                BaseType::List(_) => String::new(),
                            };
                            let paged = f
                                .arguments
                                .iter()
                                .any(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
                            map.insert(
                                f.name.node.to_string(),
                                FieldShape {
                                    ty: named,
                                    list,
                                    paged,
                                },
                            );
                        }
                    }
                    TypeSystemDefinition::Directive(_) => {}
                }
            }
        }
        let root = shape.types.entry(shape.query.clone()).or_default();
        for (name, ty) in [("__schema", "__Schema"), ("__type", "__Type")] {
            root.insert(
                name.into(),
                FieldShape {
                    ty: ty.into(),
                    list: false,
                    paged: false,
                },
            );
        }
        shape
    }

    pub(super) fn field(&self, ty: &str, name: &str) -> Option<&FieldShape> {
        self.types.get(ty)?.get(name)
    }
}
