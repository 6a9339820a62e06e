//! What a document costs: one walk over its selections (each fragment at most twice,
//! whatever the number of spreads) tallies cost, depth, nesting, aliases, root fields,
//! selections and introspection, and the tally is checked against the limits. Also the checks
//! on the raw text: bracket depth before parsing, and NUL characters in values.

use super::shape::Shape;
use super::{
    INTROSPECTION_DISABLED, LIST_FACTOR, Limits, MAX_DIRECTIVES, MAX_SELECTIONS,
    MAX_TYPE_EXPANSIONS, QUERY_TOO_COMPLEX, QUERY_TOO_DEEP, TOO_MANY_ALIASES, TOO_MANY_DIRECTIVES,
    TOO_MANY_ROOT_FIELDS, over_limit,
};
use crate::graphql::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::http::error_body::server_error;
use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{ServerError, Value, Variables};
use std::collections::HashMap;
use std::convert::Infallible;

/// What a selection set (or an operation, or a fragment) adds up to.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    /// Estimated cost: one per field, what a list selects multiplied by its size.
    pub(super) cost: u64,
    /// Deepest chain of fields, the leaf included.
    pub(super) depth: usize,
    /// Deepest nesting of selection sets, spreads and inline fragments.
    pub(super) nesting: usize,
    /// Aliased fields, fragments expanded.
    pub(super) aliases: u64,
    /// Fields at this level (the root fields, for an operation).
    pub(super) fields: u64,
    /// Selections once fragments are expanded.
    pub(super) selections: u64,
    /// Whether `__schema` or `__type` is selected.
    pub(super) introspection: bool,
    /// Most introspection lists of types along one path (see [`MAX_TYPE_EXPANSIONS`]).
    pub(super) expansions: usize,
}

impl Tally {
    fn then(self, o: Tally) -> Tally {
        Tally {
            cost: self.cost.saturating_add(o.cost),
            depth: self.depth.max(o.depth),
            nesting: self.nesting.max(o.nesting),
            aliases: self.aliases.saturating_add(o.aliases),
            fields: self.fields.saturating_add(o.fields),
            selections: self.selections.saturating_add(o.selections),
            introspection: self.introspection || o.introspection,
            expansions: self.expansions.max(o.expansions),
        }
    }

    /// This tally one level down: inside a fragment spread or an inline fragment.
    fn nested(mut self) -> Tally {
        self.nesting += 1;
        self.selections = self.selections.saturating_add(1);
        self
    }

    /// Checks this tally against `l` (the root-field limit only for an `operation`).
    pub(super) fn within(&self, l: &Limits, operation: bool) -> Result<(), ServerError> {
        let t = self;
        if t.introspection && !l.introspection {
            return Err(server_error(
                INTROSPECTION_DISABLED,
                "introspection (__schema, __type) is switched off on this server",
            ));
        }
        if t.depth > l.max_depth {
            return Err(over_limit(
                QUERY_TOO_DEEP,
                format!(
                    "the query nests fields {} deep; the limit is {}",
                    t.depth, l.max_depth
                ),
                l.max_depth as u64,
                t.depth as u64,
            ));
        }
        if t.expansions > MAX_TYPE_EXPANSIONS {
            return Err(over_limit(
                QUERY_TOO_DEEP,
                format!(
                    "the introspection query lists types within the types of another list {} levels deep; the limit is {MAX_TYPE_EXPANSIONS}",
                    t.expansions
                ),
                MAX_TYPE_EXPANSIONS as u64,
                t.expansions as u64,
            ));
        }
        if t.nesting > l.max_nesting() {
            return Err(too_deep_nesting(t.nesting, l.max_nesting()));
        }
        if t.aliases > l.max_aliases {
            return Err(over_limit(
                TOO_MANY_ALIASES,
                format!(
                    "the query uses {} aliases; the limit is {}",
                    t.aliases, l.max_aliases
                ),
                l.max_aliases,
                t.aliases,
            ));
        }
        if operation && t.fields > l.max_root_fields {
            return Err(over_limit(
                TOO_MANY_ROOT_FIELDS,
                format!(
                    "the operation selects {} root fields; the limit is {}",
                    t.fields, l.max_root_fields
                ),
                l.max_root_fields,
                t.fields,
            ));
        }
        if t.selections > MAX_SELECTIONS {
            return Err(over_limit(
                QUERY_TOO_COMPLEX,
                format!(
                    "the query holds {} selections once its fragments are expanded; the limit is {MAX_SELECTIONS}",
                    t.selections
                ),
                MAX_SELECTIONS,
                t.selections,
            ));
        }
        if t.cost > l.max_complexity {
            return Err(over_limit(
                QUERY_TOO_COMPLEX,
                format!(
                    "the query's estimated cost is {}; the limit is {} (each field costs 1, and what a list selects counts once per item of its page: `first`/`last`, {DEFAULT_PAGE_SIZE} by default, or {LIST_FACTOR} for a list without pages)",
                    t.cost, l.max_complexity
                ),
                l.max_complexity,
                t.cost,
            ));
        }
        Ok(())
    }
}

/// Walks one document once, each fragment at most twice (inside a connection or not),
/// whatever the number of times it is spread: fan-out costs the walker nothing.
pub(super) struct Walker<'a> {
    shape: &'a Shape,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The largest default any operation of the document gives each variable: fragments are
    /// shared by operations, so their cost must not depend on which one spreads them.
    defaults: HashMap<&'a str, Value>,
    memo: HashMap<(&'a str, bool), Tally>,
    /// Fragments being expanded, outermost first: a spread of one of them is a cycle.
    stack: Vec<&'a str>,
    max_nesting: usize,
}

impl<'a> Walker<'a> {
    pub(super) fn new(
        shape: &'a Shape,
        doc: &'a ExecutableDocument,
        variables: &'a Variables,
        max_nesting: usize,
    ) -> Self {
        let mut defaults: HashMap<&'a str, Value> = HashMap::new();
        for (_, op) in doc.operations.iter() {
            for def in &op.node.variable_definitions {
                let Some(value) = &def.node.default_value else {
                    continue;
                };
                let name = def.node.name.node.as_str();
                let bigger = match (defaults.get(name), &value.node) {
                    (Some(Value::Number(old)), Value::Number(new)) => new.as_i64() > old.as_i64(),
                    (Some(_), _) => false,
                    (None, _) => true,
                };
                if bigger {
                    defaults.insert(name, value.node.clone());
                }
            }
        }
        Self {
            shape,
            doc,
            variables,
            defaults,
            memo: HashMap::new(),
            stack: Vec::new(),
            max_nesting,
        }
    }

    fn variable(&self, name: &str) -> Value {
        self.variables
            .get(name)
            .or_else(|| self.defaults.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub(super) fn directives(&self, n: usize, what: &str) -> Result<(), ServerError> {
        if n > MAX_DIRECTIVES {
            return Err(over_limit(
                TOO_MANY_DIRECTIVES,
                format!("{what} has {n} directives; at most {MAX_DIRECTIVES} are allowed"),
                MAX_DIRECTIVES as u64,
                n as u64,
            ));
        }
        Ok(())
    }

    pub(super) fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        ty: Option<&'a str>,
        in_connection: bool,
        level: usize,
    ) -> Result<Tally, ServerError> {
        // Checked on the way down too, so the walk itself never recurses without bound.
        if level > self.max_nesting {
            return Err(too_deep_nesting(level, self.max_nesting));
        }
        let mut total = Tally::default();
        for item in &set.items {
            let t = match &item.node {
                Selection::Field(f) => self.field(&f.node, ty, in_connection, level)?,
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    self.directives(inline.directives.len(), "an inline fragment")?;
                    let ty = inline
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str())
                        .or(ty);
                    self.selection_set(&inline.selection_set.node, ty, in_connection, level + 1)?
                        .nested()
                }
                Selection::FragmentSpread(spread) => {
                    let spread = &spread.node;
                    self.directives(spread.directives.len(), "a fragment spread")?;
                    self.fragment(spread.fragment_name.node.as_str(), in_connection, level + 1)?
                        .nested()
                }
            };
            total = total.then(t);
        }
        Ok(total)
    }

    pub(super) fn fragment(
        &mut self,
        name: &'a str,
        in_connection: bool,
        level: usize,
    ) -> Result<Tally, ServerError> {
        if let Some(t) = self.memo.get(&(name, in_connection)) {
            return Ok(*t);
        }
        if self.stack.contains(&name) {
            let mut path: Vec<&str> = self.stack.clone();
            path.push(name);
            let mut err = server_error(
                "GRAPHQL_VALIDATION_FAILED",
                format!(
                    "fragment \"{name}\" spreads itself ({}); fragments must not form a cycle",
                    path.join(" -> ")
                ),
            );
            if let Some(def) = self.doc.fragments.get(name) {
                err.locations.push(def.pos);
            }
            return Err(err);
        }
        // An unknown fragment is for validation to report.
        let Some(def) = self.doc.fragments.get(name) else {
            return Ok(Tally::default());
        };
        let def = &def.node;
        self.directives(def.directives.len(), "a fragment")?;
        self.stack.push(name);
        let t = self.selection_set(
            &def.selection_set.node,
            Some(def.type_condition.node.on.node.as_str()),
            in_connection,
            level,
        );
        self.stack.pop();
        let t = t?;
        self.memo.insert((name, in_connection), t);
        Ok(t)
    }

    fn field(
        &mut self,
        f: &'a Field,
        parent: Option<&'a str>,
        in_connection: bool,
        level: usize,
    ) -> Result<Tally, ServerError> {
        let name = f.name.node.as_str();
        self.directives(f.directives.len(), &format!("field `{name}`"))?;
        for (arg, value) in &f.arguments {
            let value = value
                .node
                .clone()
                .into_const_with(|_| Ok::<_, Infallible>(Value::Null));
            if let Ok(v) = value
                && has_nul(&v)
            {
                return Err(nul_error(&format!("{name}.{}", arg.node)));
            }
        }
        let shape = parent.and_then(|p| self.shape.field(p, name));
        let has_children = !f.selection_set.node.items.is_empty();
        let children = if has_children {
            self.selection_set(
                &f.selection_set.node,
                shape.map(|s| s.ty.as_str()),
                shape.is_some_and(|s| s.paged),
                level + 1,
            )?
        } else {
            Tally::default()
        };
        let multiplier = match shape {
            Some(_) if !has_children => 1,
            Some(s) if s.paged => self.page_size(f),
            // A connection's `edges` and `nodes` are its page, already counted.
            Some(s) if s.list && !in_connection => LIST_FACTOR,
            _ => 1,
        };
        Ok(Tally {
            cost: children.cost.saturating_mul(multiplier).saturating_add(1),
            depth: children.depth + 1,
            nesting: if has_children {
                children.nesting + 1
            } else {
                0
            },
            aliases: children.aliases + u64::from(f.alias.is_some()),
            fields: 1,
            selections: children.selections.saturating_add(1),
            introspection: matches!(name, "__schema" | "__type") || children.introspection,
            expansions: children.expansions
                + usize::from(matches!(
                    (parent, name),
                    (Some("__Schema"), "types")
                        | (
                            Some("__Type"),
                            "fields" | "inputFields" | "interfaces" | "possibleTypes"
                        )
                )),
        })
    }

    /// The page a connection field asks for: `first` or `last` (literal or variable), the
    /// default page when neither is given, the largest page when either is not a number.
    fn page_size(&self, f: &Field) -> u64 {
        let mut size: Option<u64> = None;
        for arg in ["first", "last"] {
            let Some(value) = f.get_argument(arg) else {
                continue;
            };
            let value = value
                .node
                .clone()
                .into_const_with(|name| Ok::<_, Infallible>(self.variable(&name)));
            let n = match value {
                Ok(Value::Null) => continue,
                Ok(Value::Number(n)) => n.as_i64().unwrap_or(i64::from(MAX_PAGE_SIZE)),
                _ => i64::from(MAX_PAGE_SIZE),
            };
            let n = n.clamp(1, i64::from(MAX_PAGE_SIZE)) as u64;
            size = Some(size.map_or(n, |s| s.max(n)));
        }
        size.unwrap_or(DEFAULT_PAGE_SIZE as u64)
    }
}

fn too_deep_nesting(level: usize, max: usize) -> ServerError {
    over_limit(
        QUERY_TOO_DEEP,
        format!(
            "the document nests selections, fragments and inline fragments {level} levels deep; the limit is {max}"
        ),
        max as u64,
        level as u64,
    )
}

pub(super) fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

pub(super) fn nul_error(field: &str) -> ServerError {
    let mut err = server_error(
        "BAD_USER_INPUT",
        format!("{field}: must not contain the NUL character (U+0000)"),
    );
    if let Some(ext) = err.extensions.as_mut() {
        ext.set("field", field);
    }
    err
}

/// The deepest bracket nesting of a document's text, strings and comments skipped; counted
/// before parsing so that no parser recursion ever sees an absurd document.
pub(super) fn bracket_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut depth, mut max) = (0, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}
