//! Request limits of `/graphql`: document depth, complexity, aliases, root fields and
//! directives checked before anything runs, batches costed as a whole, the per-request
//! deadline, and the HTTP-level rejections (oversized body, overlong URL, timeout) as GraphQL
//! error bodies with stable codes.

use crate::config::Settings;
use crate::graphql::http::{content_type, negotiate};
use crate::graphql::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationDefinition, OperationType, Selection, SelectionSet,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::parser::{parse_query, parse_schema};
use async_graphql::{
    BatchRequest, BatchResponse, ErrorExtensionValues, Positioned, Request, Response, ServerError,
    Value, Variables,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response as HttpResponse};
use lru::LruCache;
use serde_json::json;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// The document nests deeper than `max_depth` fields (or brackets far beyond it).
pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
/// The estimated cost of the request is above `max_complexity`.
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
/// More aliased fields than `max_aliases`.
pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
/// More fields at the root of an operation than `max_root_fields`.
pub const TOO_MANY_ROOT_FIELDS: &str = "TOO_MANY_ROOT_FIELDS";
/// More directives on one field, fragment or operation than [`MAX_DIRECTIVES`].
pub const TOO_MANY_DIRECTIVES: &str = "TOO_MANY_DIRECTIVES";
/// `__schema` or `__type` while introspection is switched off.
pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
/// The request did not finish within the request timeout.
pub const TIMEOUT: &str = "TIMEOUT";
/// The request body is larger than `max_body_bytes`.
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
/// The URL of a GET request is longer than [`MAX_URL_QUERY_BYTES`].
pub const URI_TOO_LONG: &str = "URI_TOO_LONG";

/// What a plain list field (not a paginated connection) multiplies the cost of its
/// selection by: the number of items it is assumed to hold.
pub const LIST_FACTOR: u64 = 5;
/// Most selections (fields, fragment spreads, inline fragments) a document may hold once its
/// fragments are expanded, summed over its operations.
pub const MAX_SELECTIONS: u64 = 10_000;
/// Most introspection lists of types along one path (`__Schema.types`, and a `__Type`'s
/// `fields`, `inputFields`, `interfaces` and `possibleTypes`): GraphiQL's schema query needs
/// two (every type's fields); each level more multiplies the answer by the schema's size.
pub const MAX_TYPE_EXPANSIONS: usize = 2;
/// Most directives on one field, fragment spread, inline fragment or operation.
pub const MAX_DIRECTIVES: usize = 10;
/// Longest query string a GET request may carry, in bytes. (A URL over 64 KiB never reaches
/// the service: the HTTP layer answers it `414` with no body.)
pub const MAX_URL_QUERY_BYTES: usize = 32 * 1024;
/// How many parsed documents are kept, by text: a dashboard polling the same query is parsed
/// once.
const DOC_CACHE_CAPACITY: usize = 512;
/// Longer documents are parsed every time: keeping them would let a client fill memory.
const MAX_CACHED_BYTES: usize = 16 * 1024;
/// Longest parse-error message sent back; the parser quotes the offending line, which can be
/// the whole document.
const MAX_MESSAGE_CHARS: usize = 400;
/// How long after the deadline the HTTP layer gives up on a request whose body has not even
/// arrived (the handler answers at the deadline itself once it runs).
const BODY_GRACE: Duration = Duration::from_millis(500);

/// The limits in force, from [`Settings`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest chain of fields in an operation, fragments expanded.
    pub max_depth: usize,
    /// Highest estimated cost of a request (a batch's requests added up).
    pub max_complexity: u64,
    /// Most aliased fields in a request (a batch's requests added up).
    pub max_aliases: u64,
    /// Most fields at the root of one operation.
    pub max_root_fields: u64,
    /// Whether `__schema` and `__type` are answered.
    pub introspection: bool,
    /// How long a request may run.
    pub request_timeout: Duration,
}

impl Limits {
    /// The limits `settings` describe.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            max_depth: settings.max_depth.max(1),
            max_complexity: settings.max_complexity.max(1),
            max_aliases: settings.max_aliases as u64,
            max_root_fields: settings.max_root_fields.max(1) as u64,
            introspection: settings.introspection,
            request_timeout: settings.request_timeout,
        }
    }

    /// Deepest nesting of selection sets, fragment spreads and inline fragments: what
    /// async-graphql calls the recursion depth. Twice the field depth leaves room for a
    /// fragment or inline fragment at every level.
    pub fn max_nesting(&self) -> usize {
        (self.max_depth * 2 + 2).max(32)
    }

    /// Deepest bracket nesting the raw text may have before it is even parsed: the
    /// selection nesting plus room for nested input values.
    fn max_brackets(&self) -> usize {
        self.max_nesting() + 32
    }
}

/// How one field of the schema returns its value, as far as cost is concerned.
#[derive(Debug, Clone)]
struct FieldShape {
    /// The named type inside any list and non-null wrappers.
    ty: String,
    /// Whether the field returns a list.
    list: bool,
    /// Whether the field is a paginated connection (takes `first` or `last`).
    paged: bool,
}

/// The fields of every object and interface type, read from the schema's SDL.
#[derive(Debug, Default)]
struct Shape {
    types: HashMap<String, HashMap<String, FieldShape>>,
    query: String,
    mutation: String,
    subscription: String,
}

/// The introspection types the SDL leaves out, reduced to what costs something: which of
/// their fields return objects, and which of those are lists.
const INTROSPECTION_SDL: &str = r#"
type __Schema { types: [__Type!]! queryType: __Type! mutationType: __Type subscriptionType: __Type directives: [__Directive!]! }
type __Type { fields: [__Field!] interfaces: [__Type!] possibleTypes: [__Type!] enumValues: [__EnumValue!] inputFields: [__InputValue!] ofType: __Type }
type __Field { args: [__InputValue!]! type: __Type! }
type __InputValue { type: __Type! }
type __EnumValue { name: String! }
type __Directive { args: [__InputValue!]! }
"#;

impl Shape {
    fn from_sdl(sdl: &str) -> Self {
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
                            while let async_graphql::parser::types::BaseType::List(inner) = &ty.base
                            {
                                list = true;
                                ty = inner;
                            }
                            let named = match &ty.base {
                                async_graphql::parser::types::BaseType::Named(n) => n.to_string(),
                                async_graphql::parser::types::BaseType::List(_) => String::new(),
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

    fn field(&self, ty: &str, name: &str) -> Option<&FieldShape> {
        self.types.get(ty)?.get(name)
    }
}

/// What a selection set (or an operation, or a fragment) adds up to.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// Estimated cost: one per field, what a list selects multiplied by its size.
    cost: u64,
    /// Deepest chain of fields, the leaf included.
    depth: usize,
    /// Deepest nesting of selection sets, spreads and inline fragments.
    nesting: usize,
    /// Aliased fields, fragments expanded.
    aliases: u64,
    /// Fields at this level (the root fields, for an operation).
    fields: u64,
    /// Selections once fragments are expanded.
    selections: u64,
    /// Whether `__schema` or `__type` is selected.
    introspection: bool,
    /// Most introspection lists of types along one path (see [`MAX_TYPE_EXPANSIONS`]).
    expansions: usize,
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
}

/// An error before anything ran, with its `extensions.code`.
fn refusal(code: &str, message: impl Into<String>) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    err.extensions = Some(ext);
    err
}

/// A refusal that also says which limit was exceeded and by how much.
fn over_limit(code: &str, message: String, limit: u64, actual: u64) -> ServerError {
    let mut err = refusal(code, message);
    if let Some(ext) = err.extensions.as_mut() {
        ext.set("limit", limit);
        ext.set("actual", actual);
    }
    err
}

/// Walks one document once, each fragment at most twice (inside a connection or not),
/// whatever the number of times it is spread: fan-out costs the walker nothing.
struct Walker<'a> {
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
    fn new(
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

    fn directives(&self, n: usize, what: &str) -> Result<(), ServerError> {
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

    fn selection_set(
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

    fn fragment(
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
            let mut err = refusal(
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

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn nul_error(field: &str) -> ServerError {
    let mut err = refusal(
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
fn bracket_depth(text: &str) -> usize {
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

/// The operation of `doc` a request runs: the one named, or the first.
pub fn selected_operation<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    let mut ops = doc.operations.iter();
    match operation_name {
        Some(name) => ops
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
            .map(|(_, op)| op),
        None => ops.next().map(|(_, op)| op),
    }
}

/// The cost of one admitted request, for the batch's total.
#[derive(Debug, Clone, Copy, Default)]
struct Admitted {
    cost: u64,
    aliases: u64,
}

/// The limits and what they need to know about the schema; one per running service.
pub struct Guard {
    limits: Limits,
    shape: Shape,
    /// Recently parsed documents by text: a polling dashboard's query is parsed once.
    docs: Mutex<LruCache<String, ExecutableDocument>>,
    /// The largest request body accepted, for the message that refuses a larger one.
    body_limit: usize,
}

tokio::task_local! {
    /// When the request being served must be answered by.
    static DEADLINE: Instant;
}

impl Guard {
    /// The guard for a schema whose SDL is `sdl`, with the limits of `settings`.
    pub fn new(settings: &Settings, sdl: &str) -> Self {
        Self {
            limits: Limits::from_settings(settings),
            shape: Shape::from_sdl(sdl),
            docs: Mutex::new(LruCache::new(
                NonZeroUsize::new(DOC_CACHE_CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
            body_limit: settings.max_body_bytes,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Parses and checks one request; on success the parsed document is handed to the
    /// request, so async-graphql does not parse it again.
    fn admit(&self, req: &mut Request) -> Result<Admitted, ServerError> {
        if req.variables.values().any(has_nul) {
            let name = req
                .variables
                .iter()
                .find(|(_, v)| has_nul(v))
                .map_or_else(String::new, |(k, _)| format!("${k}"));
            return Err(nul_error(&name));
        }
        let (doc, parsed) = match self.cached(&req.query) {
            Some(doc) => (doc, false),
            None => (self.parse(&req.query)?, true),
        };
        let admitted = self.check(&doc, &req.variables, req.operation_name.as_deref())?;
        // A cached document was moved to the front by the lookup; only a new one is kept.
        if parsed && req.query.len() <= MAX_CACHED_BYTES {
            self.docs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(req.query.clone(), doc.clone());
        }
        req.set_parsed_query(doc);
        Ok(admitted)
    }

    /// The type of the operation `query` runs (see [`selected_operation`]), read off the
    /// document cache when the query was admitted lately, else parsed.
    pub fn operation_type(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Option<OperationType> {
        if query.len() <= MAX_CACHED_BYTES
            && let Some(doc) = self
                .docs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .peek(query)
        {
            return selected_operation(doc, operation_name).map(|op| op.node.ty);
        }
        let doc = parse_query(query).ok()?;
        selected_operation(&doc, operation_name).map(|op| op.node.ty)
    }

    fn cached(&self, query: &str) -> Option<ExecutableDocument> {
        if query.len() > MAX_CACHED_BYTES {
            return None;
        }
        self.docs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(query)
            .cloned()
    }

    /// Parses a document whose brackets do not nest absurdly deep; a parse error keeps its
    /// position but not the whole offending line the parser quotes.
    fn parse(&self, query: &str) -> Result<ExecutableDocument, ServerError> {
        let brackets = bracket_depth(query);
        let max_brackets = self.limits.max_brackets();
        if brackets > max_brackets {
            return Err(over_limit(
                QUERY_TOO_DEEP,
                format!("the document nests brackets {brackets} deep; the limit is {max_brackets}"),
                max_brackets as u64,
                brackets as u64,
            ));
        }
        parse_query(query).map_err(|e| {
            let mut err = ServerError::from(e);
            if err.message.chars().count() > MAX_MESSAGE_CHARS {
                err.message = err.message.chars().take(MAX_MESSAGE_CHARS).collect();
                err.message.push_str("...");
            }
            let mut ext = ErrorExtensionValues::default();
            ext.set("code", "GRAPHQL_PARSE_FAILED");
            err.extensions = Some(ext);
            err
        })
    }

    /// Checks every operation and fragment of `doc` (validation looks at all of them, so an
    /// unused one must not be able to cost more than a used one), and returns the cost of
    /// the operation that will run.
    fn check(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
        operation_name: Option<&str>,
    ) -> Result<Admitted, ServerError> {
        let l = &self.limits;
        let mut walker = Walker::new(&self.shape, doc, variables, l.max_nesting());
        let mut selections: u64 = 0;
        let mut chosen: Option<Tally> = None;
        let mut costliest = Tally::default();
        let single = doc.operations.iter().count() == 1;
        for (name, op) in doc.operations.iter() {
            let op = &op.node;
            walker.directives(op.directives.len(), "an operation")?;
            let root = match op.ty {
                OperationType::Query => self.shape.query.as_str(),
                OperationType::Mutation => self.shape.mutation.as_str(),
                OperationType::Subscription => self.shape.subscription.as_str(),
            };
            let t = walker.selection_set(&op.selection_set.node, Some(root), false, 0)?;
            self.check_tally(&t, true)?;
            selections = selections.saturating_add(t.selections);
            if selections > MAX_SELECTIONS {
                return Err(over_limit(
                    QUERY_TOO_COMPLEX,
                    format!(
                        "the document holds {selections} selections once its fragments are expanded; the limit is {MAX_SELECTIONS}"
                    ),
                    MAX_SELECTIONS,
                    selections,
                ));
            }
            let is_chosen = match operation_name {
                Some(wanted) => name.is_some_and(|n| n.as_str() == wanted),
                None => single,
            };
            if is_chosen {
                chosen = Some(t);
            }
            if t.cost > costliest.cost {
                costliest = t;
            }
        }
        for name in doc.fragments.keys() {
            let t = walker.fragment(name.as_str(), false, 1)?;
            self.check_tally(&t, false)?;
        }
        let t = chosen.unwrap_or(costliest);
        Ok(Admitted {
            cost: t.cost,
            aliases: t.aliases,
        })
    }

    fn check_tally(&self, t: &Tally, operation: bool) -> Result<(), ServerError> {
        let l = &self.limits;
        if t.introspection && !l.introspection {
            return Err(refusal(
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

    /// Checks every request of `batch`, and the batch as a whole (its operations' costs and
    /// aliases add up against the limits of one request, so batching cannot multiply them),
    /// then runs the admitted ones one after another with `exec` until the deadline.
    /// Requests refused or cut off by the deadline answer an error with a stable code; the
    /// others their own response.
    pub async fn run<F, Fut>(&self, batch: BatchRequest, mut exec: F) -> BatchResponse
    where
        F: FnMut(Request) -> Fut,
        Fut: Future<Output = Response>,
    {
        let deadline = DEADLINE
            .try_with(|d| *d)
            .unwrap_or_else(|_| Instant::now() + self.limits.request_timeout);
        let (single, requests) = match batch {
            BatchRequest::Single(r) => (true, vec![r]),
            BatchRequest::Batch(list) => (false, list),
        };
        let mut admitted: Vec<Result<(Request, Admitted), ServerError>> = requests
            .into_iter()
            .map(|mut r| self.admit(&mut r).map(|a| (r, a)))
            .collect();
        if !single {
            let (cost, aliases) = admitted
                .iter()
                .flatten()
                .fold((0u64, 0u64), |(c, a), (_, x)| {
                    (c.saturating_add(x.cost), a.saturating_add(x.aliases))
                });
            let l = &self.limits;
            let refused = if cost > l.max_complexity {
                Some(over_limit(
                    QUERY_TOO_COMPLEX,
                    format!(
                        "the operations of this batch cost {cost} together; a request, batched or not, may cost at most {}",
                        l.max_complexity
                    ),
                    l.max_complexity,
                    cost,
                ))
            } else if aliases > l.max_aliases {
                Some(over_limit(
                    TOO_MANY_ALIASES,
                    format!(
                        "the operations of this batch use {aliases} aliases together; a request, batched or not, may use at most {}",
                        l.max_aliases
                    ),
                    l.max_aliases,
                    aliases,
                ))
            } else {
                None
            };
            if let Some(err) = refused {
                for item in admitted.iter_mut() {
                    *item = Err(err.clone());
                }
            }
        }
        let mut responses = Vec::with_capacity(admitted.len());
        for item in admitted {
            let resp = match item {
                Err(e) => Response::from_errors(vec![e]),
                Ok(_) if Instant::now() >= deadline => self.timeout_response(),
                Ok((req, _)) => match tokio::time::timeout_at(deadline, exec(req)).await {
                    Ok(resp) => resp,
                    // Dropping the request's future drops any open transaction with it, which
                    // rolls back: a mutation cut off here has changed nothing.
                    Err(_) => self.timeout_response(),
                },
            };
            responses.push(resp);
        }
        if single {
            BatchResponse::Single(responses.pop().unwrap_or_default())
        } else {
            BatchResponse::Batch(responses)
        }
    }

    fn timeout_message(&self) -> String {
        format!(
            "the request did not finish within the {} s request timeout and was cancelled; whatever it had not committed was rolled back",
            self.limits.request_timeout.as_secs_f64()
        )
    }

    fn timeout_response(&self) -> Response {
        Response::from_errors(vec![refusal(TIMEOUT, self.timeout_message())])
    }
}

/// A GraphQL error body for a request refused at the HTTP level, in the media type the
/// client accepts.
pub fn error_response(
    headers: &HeaderMap,
    status: StatusCode,
    code: &str,
    message: &str,
) -> HttpResponse {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(negotiate(headers)));
    resp
}

/// The middleware of `/graphql`: refuses overlong URLs, sets the request's deadline, and turns
/// what the layers below answer in plain text (an oversized body, a body that never arrived)
/// into GraphQL error bodies.
pub async fn http_guard(
    State(guard): State<Arc<Guard>>,
    req: axum::extract::Request,
    next: Next,
) -> HttpResponse {
    let headers = req.headers().clone();
    let query_len = req.uri().query().map_or(0, str::len);
    if query_len > MAX_URL_QUERY_BYTES {
        return error_response(
            &headers,
            StatusCode::URI_TOO_LONG,
            URI_TOO_LONG,
            &format!(
                "the URL's query string is {query_len} bytes; the limit is {MAX_URL_QUERY_BYTES} (send large documents with POST)"
            ),
        );
    }
    let deadline = Instant::now() + guard.limits.request_timeout;
    let run = DEADLINE.scope(deadline, next.run(req));
    let resp = match tokio::time::timeout_at(deadline + BODY_GRACE, run).await {
        Ok(resp) => resp,
        Err(_) => {
            return error_response(
                &headers,
                StatusCode::REQUEST_TIMEOUT,
                TIMEOUT,
                &guard.timeout_message(),
            );
        }
    };
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json || resp.status().is_success() {
        return resp;
    }
    let (code, message) = match resp.status() {
        StatusCode::PAYLOAD_TOO_LARGE => (
            PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the {} bytes this server accepts",
                guard.body_limit
            ),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "/graphql answers GET (queries) and POST".to_owned(),
        ),
        s if s.is_server_error() => ("INTERNAL", "internal error".to_owned()),
        _ => (
            "BAD_REQUEST",
            "the request could not be read as a GraphQL request".to_owned(),
        ),
    };
    let status = resp.status();
    let allow = resp.headers().get(header::ALLOW).cloned();
    let mut out = error_response(&headers, status, code, &message);
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}
