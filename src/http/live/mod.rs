//! Subscriptions' transports, both at `/graphql`: GraphQL over WebSocket (`graphql-transport-ws`,
//! and the older `graphql-ws` protocol of subscriptions-transport-ws) in [`ws`], and GraphQL
//! over Server-Sent Events (`graphql-sse`, distinct connections mode) in [`sse`].
//!
//! What both share is here: a [`Session`] (the caller, checked again whenever a token changes,
//! and why the session must end), and the executor that runs a session's operations within the
//! request limits, the access rule for mutations, and the caps on open subscriptions.

mod session;
pub mod sse;
pub mod ws;

pub use session::Session;

use super::connections::Peer;
use super::endpoint::{mutation_refusal, tag_error_codes};
use super::error_body;
use super::limits::{Guard, selected_operation};
use crate::auth::LastUsed;
use crate::domain::feed::Feed;
use crate::graphql::AppSchema;
use crate::graphql::loaders::{Batches, Generation, loaders_with};
use crate::metrics::METRICS;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response};
use axum::extract::{ConnectInfo, State};
use axum::handler::Handler;
use axum::http::{Method, header};
use axum::middleware::Next;
use futures_util::stream::{self, BoxStream, StreamExt};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// The `extensions.code` of a subscription refused because too many are open.
pub const TOO_MANY_SUBSCRIPTIONS: &str = "TOO_MANY_SUBSCRIPTIONS";

/// What the subscription transports share.
#[derive(Clone)]
pub struct LiveState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    /// The request limits, applied to every operation of a session.
    pub guard: Arc<Guard>,
    /// The change feed, which tells sessions when a token changed.
    pub feed: Feed,
    /// Whether reading (and so subscribing) needs a token.
    pub reads_require_token: bool,
    pub last_used: LastUsed,
    /// Subscriptions open on this server, against the cap.
    pub open: Arc<Semaphore>,
    /// Subscriptions one connection may hold open.
    pub per_connection: usize,
    /// Time between keep-alive pings.
    pub keepalive: Duration,
    /// Longest one message may take to be accepted by a subscriber.
    pub send_timeout: Duration,
    /// Largest message a client may send.
    pub max_message_bytes: usize,
    /// The shutdown signal, which ends sessions, and the count of those still open.
    pub closing: Closing,
}

/// Sends a `/graphql` request that opens a subscription transport (a WebSocket upgrade, or
/// one that accepts an event stream) to it, and any other on to the endpoint.
pub async fn dispatch(
    State(state): State<LiveState>,
    req: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        let mut req = req;
        let peer = req
            .extensions()
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0.clone());
        req.extensions_mut().insert(peer);
        return Handler::call(ws::upgrade, req, state).await;
    }
    if sse::wants_events(&req) && matches!(*req.method(), Method::GET | Method::POST) {
        return Handler::call(sse::stream, req, state).await;
    }
    next.run(req).await
}

/// Tells every session that the server is shutting down, and knows how many are still open.
///
/// A WebSocket, once upgraded, is no longer the HTTP server's connection: the graceful
/// shutdown does not wait for it. Each session therefore holds a [`LiveSession`] while it
/// runs, and the server waits for them to be gone (see [`Closing::drained`]) so that every
/// subscriber receives its 1001 close frame before the process exits.
#[derive(Clone)]
pub struct Closing {
    signal: Arc<watch::Sender<bool>>,
    open: Arc<watch::Sender<usize>>,
}

impl Closing {
    /// A signal not yet given, with no sessions open.
    pub fn new() -> Self {
        Self {
            signal: Arc::new(watch::channel(false).0),
            open: Arc::new(watch::channel(0).0),
        }
    }

    /// Ends every session: WebSocket connections close with 1001, event streams complete.
    pub fn close(&self) {
        // `send_replace`, not `send`: the signal must stick even while no session watches.
        self.signal.send_replace(true);
    }

    /// Completes when the server begins to shut down.
    pub fn signalled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut seen = self.signal.subscribe();
        async move {
            if seen.wait_for(|c| *c).await.is_err() {
                // The signal was dropped without being given: the server is not shutting down.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Counts a session as open until the returned value is dropped.
    pub fn enter(&self) -> LiveSession {
        self.open.send_modify(|n| *n += 1);
        LiveSession(self.open.clone())
    }

    /// Sessions open now.
    pub fn open(&self) -> usize {
        *self.open.borrow()
    }

    /// Waits for every session to end, true when they all did: at most twice the time a close
    /// frame may take to be written, however many sessions there are.
    pub async fn drained(&self) -> bool {
        let mut open = self.open.subscribe();
        tokio::time::timeout(2 * ws::CLOSE_FRAME_TIMEOUT, open.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl Default for Closing {
    fn default() -> Self {
        Self::new()
    }
}

/// One open session, as [`Closing`] counts them.
pub struct LiveSession(Arc<watch::Sender<usize>>);

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Runs one session's operations.
#[derive(Clone)]
pub struct SessionExecutor {
    state: LiveState,
    session: Arc<Session>,
}

impl SessionExecutor {
    pub fn new(state: LiveState, session: Arc<Session>) -> Self {
        Self { state, session }
    }

    /// A place among the open subscriptions, or the refusal.
    fn admit(&self) -> Result<Slot, Box<Response>> {
        let refuse = |message: String| {
            Box::new(error_body::refused(vec![error_body::server_error(
                TOO_MANY_SUBSCRIPTIONS,
                message,
            )]))
        };
        let open = self.session.subscriptions.fetch_add(1, Ordering::SeqCst);
        let mut slot = Slot {
            session: self.session.clone(),
            permit: None,
        };
        if open >= self.state.per_connection {
            return Err(refuse(format!(
                "this connection already has {} subscriptions open, the most it may; complete one first",
                self.state.per_connection
            )));
        }
        match self.state.open.clone().try_acquire_owned() {
            Ok(permit) => {
                slot.permit = Some(permit);
                METRICS.subscriptions.inc();
                Ok(slot)
            }
            Err(_) => Err(refuse(
                "the server has as many subscriptions open as it may; retry later".to_owned(),
            )),
        }
    }
}

/// A subscription's place: given back when the subscription ends.
struct Slot {
    session: Arc<Session>,
    /// Held, not read: dropping it gives the server-wide place back.
    #[allow(dead_code)]
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.session.subscriptions.fetch_sub(1, Ordering::SeqCst);
        if self.permit.is_some() {
            METRICS.subscriptions.dec();
        }
    }
}

impl Executor for SessionExecutor {
    async fn execute(&self, request: Request) -> Response {
        self.execute_stream(request, None)
            .next()
            .await
            .unwrap_or_default()
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Some(refusal) = self.state.guard.refusal(&mut request) {
            return stream::once(async move { refusal }).boxed();
        }
        let caller = self.session.caller();
        if let Some(refusal) = mutation_refusal(&mut request, &caller) {
            return stream::once(async move { refusal }).boxed();
        }
        let operation_name = request.operation_name.clone();
        let subscribing = request.parsed_query().ok().and_then(|doc| {
            selected_operation(doc, operation_name.as_deref())
                .map(|op| op.node.ty == OperationType::Subscription)
        }) == Some(true);
        let slot = if subscribing {
            match self.admit() {
                Ok(slot) => Some(slot),
                Err(refusal) => return stream::once(async move { *refusal }).boxed(),
            }
        } else {
            None
        };
        // A loader per operation, whose cache a subscription empties before each event.
        let batches = Batches::default();
        let generation = Generation::default();
        let loaders = Arc::new(loaders_with(
            crate::graphql::reader::Reader::pooled(self.state.db.clone()),
            &batches,
            generation.clone(),
        ));
        let request = request.data(caller).data(loaders).data(generation);
        let responses = self
            .state
            .schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default());
        batches
            .drive(responses)
            .map(move |mut resp| {
                // The slot lives as long as the stream.
                if slot.is_some() {
                    METRICS.events.inc();
                }
                tag_error_codes(&mut resp);
                resp
            })
            .boxed()
    }
}
