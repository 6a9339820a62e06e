//! GraphQL over WebSocket at `/graphql`: the `graphql-transport-ws` protocol (and the older
//! `graphql-ws` of subscriptions-transport-ws), served by async-graphql's protocol engine.
//!
//! - The token goes in the `connection_init` payload (`{"Authorization": "Bearer …"}`, or
//!   `{"token": "…"}`), or in the upgrade request's `Authorization` header. A refused token
//!   closes the connection with 4403; so does a token revoked or expired while connected.
//! - The server pings every `SUBSCRIPTION_KEEPALIVE_SECS` while connected.
//! - A subscriber that does not take a message within `SUBSCRIPTION_SEND_TIMEOUT_SECS` is cut
//!   off with 1013 (try again later): it resumes from its last cursor, and nothing queues up
//!   for it meanwhile.
//! - When the server shuts down, connections close with 1001.

use super::session::{FORBIDDEN, Session};
use super::{LiveState, SessionExecutor};
use crate::http::connections::Peer;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long a client has to send `connection_init` after connecting.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages the protocol engine may queue ahead of the socket.
const QUEUE: usize = 16;

/// The read buffer of a connection: subscribers send little, and an idle one should cost little.
const READ_BUFFER: usize = 1024;

/// Longest a close frame may take to be written; the shutdown waits for it (see
/// [`super::Closing::drained`]).
pub(super) const CLOSE_FRAME_TIMEOUT: Duration = Duration::from_secs(1);

/// Upgrades a `/graphql` request to a GraphQL WebSocket connection.
pub async fn upgrade(
    State(state): State<LiveState>,
    Extension(peer): Extension<Option<Peer>>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let max = state.max_message_bytes;
    let ping = ping_message(&headers);
    ws.protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            // Held from here by the subscription caps, not the connection cap.
            if let Some(peer) = peer {
                peer.slot.release();
            }
            serve(state, socket, protocol, ping, header)
        })
}

/// The keep-alive message of the protocol the client asked for (the first one offered that is
/// served, as the upgrade picks it).
fn ping_message(headers: &HeaderMap) -> &'static str {
    let legacy = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        })
        == Some(WebSocketProtocols::SubscriptionsTransportWS);
    if legacy {
        r#"{"type":"ka"}"#
    } else {
        r#"{"type":"ping"}"#
    }
}

/// The `Authorization` value of a `connection_init` payload, if it carries one.
fn credentials(payload: &Value) -> Option<Vec<u8>> {
    let field = |v: &Value, name: &str| {
        v.as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_owned))
        })
    };
    let headers = payload.get("headers").unwrap_or(&Value::Null);
    if let Some(value) = field(payload, "authorization").or_else(|| field(headers, "authorization"))
    {
        return Some(value.into_bytes());
    }
    field(payload, "token").map(|t| format!("Bearer {t}").into_bytes())
}

async fn serve(
    state: LiveState,
    socket: WebSocket,
    protocol: GraphQLProtocol,
    ping: &'static str,
    header: Option<Vec<u8>>,
) {
    // Counted until the close frame is written: the server waits for it before exiting.
    let _open = state.closing.enter();
    let session = Arc::new(Session::default());
    let (mut sink, source) = socket.split();
    let init = {
        let (session, state) = (session.clone(), state.clone());
        move |payload: Value| async move {
            let header = credentials(&payload).or(header);
            match session.sign_in(&state, header).await {
                Ok(()) => Ok(async_graphql::Data::default()),
                Err(message) => {
                    session.end(FORBIDDEN, message.clone());
                    Err(async_graphql::Error::new(message))
                }
            }
        }
    };
    // The protocol engine writes into a short queue; this loop writes the queue to the socket
    // with the pings and closes of the session. While the socket does not take a message, the
    // queue fills and the engine stops reading subscriptions' events.
    let (queue, mut queued) = futures_channel::mpsc::channel::<Message>(QUEUE);
    let executor = SessionExecutor::new(state.clone(), session.clone());
    let engine = GraphQLWebSocket::new_with_pair(queue, source, executor, protocol)
        .on_connection_init(init)
        .serve();
    tokio::pin!(engine);
    let mut engine_done = false;
    let mut keepalive = tokio::time::interval_at(
        tokio::time::Instant::now() + state.keepalive,
        state.keepalive,
    );
    let closing = state.closing.signalled();
    tokio::pin!(closing);
    let guard = session.guard_token(&state, &state.feed);
    tokio::pin!(guard);
    let ended = session.ended();
    tokio::pin!(ended);
    let mut guarded = false;
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    let timeout = state.send_timeout;
    let close = loop {
        // Biased, in this order: an ended session or a shutdown closes at once; then what is
        // queued goes out before the engine is asked for more; pings and timeouts only matter
        // when nothing is (polling every branch for every message costs each of many
        // subscribers CPU time at every change).
        let out = tokio::select! {
            biased;
            reason = &mut ended => break Some(reason),
            () = &mut closing => break Some((1001, "the server is shutting down".to_owned())),
            m = queued.next() => match m {
                None => break None,
                Some(Message::Close(frame)) => {
                    let theirs = frame.map_or((1000, String::new()), |f| (f.code, f.reason.to_string()));
                    break Some(session.reason().unwrap_or(theirs));
                }
                Some(m) => m,
            },
            () = &mut engine, if !engine_done => {
                engine_done = true;
                continue;
            }
            () = &mut guard, if !guarded => {
                guarded = true;
                continue;
            }
            _ = keepalive.tick() => Message::Text(ping.into()),
            () = &mut init_deadline, if !session.signed_in() => {
                break Some((4408, "Connection initialisation timeout".to_owned()));
            }
        };
        // The send timer is armed only when the socket does not take the message at once.
        let send = sink.send(out);
        tokio::pin!(send);
        let sent = match futures_util::poll!(&mut send) {
            std::task::Poll::Ready(r) => Ok(r),
            std::task::Poll::Pending => tokio::time::timeout(timeout, send).await,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break None,
            Err(_) => {
                break Some((
                    1013,
                    "slow consumer: messages were not taken in time; resume from the last cursor"
                        .to_owned(),
                ));
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.chars().take(120).collect::<String>().into(),
        }));
        let _ = tokio::time::timeout(CLOSE_FRAME_TIMEOUT, sink.send(frame)).await;
    }
}
