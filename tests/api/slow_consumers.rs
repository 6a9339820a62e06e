//! Subscriptions the server ends by itself: a subscriber that stops reading is cut off, not
//! buffered for (the server gives up on a message it could not send within
//! `SUBSCRIPTION_SEND_TIMEOUT_SECS`, drops the connection and gives its subscriptions' places
//! back), and a session whose token expires is closed with 4403.

use crate::helpers::TestApp;
use crate::live::{CHANGES, Ws, change_cursor};
use futures_util::{SinkExt, StreamExt};
use persona_graph::catalog;
use persona_graph::config::Settings;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Subscriptions the stalled connection opens: the per-connection cap, and the server's.
const SUBSCRIPTIONS: usize = 100;

/// A large first message: the buyer journey's matrix, its rows asked for under many aliases.
fn large_matrix() -> String {
    let rows = (0..25)
        .map(|n| {
            format!(
                "r{n}: rows {{ team {{ id slug name description department }} cells {{ stageKey responsibility ownership {{ id note responsibility dri {{ id slug name }} }} }} }}"
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    format!("subscription {{ ownershipMatrixUpdates(journey: \"buyer-journey\") {{ {rows} }} }}")
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_cut_off_and_its_places_are_given_back() {
    let app = TestApp::spawn_with(Settings {
        subscription_send_timeout: Duration::from_secs(1),
        max_subscriptions: SUBSCRIPTIONS,
        ..Settings::default()
    })
    .await;
    let start = change_cursor(&app).await;
    catalog::seed(&app.db).await.unwrap();
    let query = large_matrix();

    // A client with a small receive buffer, which subscribes and then reads nothing.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(app.addr).await.unwrap();
    let mut req = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": {} });
    ws.send(Message::text(init.to_string())).await.unwrap();
    for n in 0..SUBSCRIPTIONS {
        // Each sends the matrix at once: far more than the sockets' buffers hold.
        let msg =
            json!({ "id": format!("s{n}"), "type": "subscribe", "payload": { "query": query } });
        ws.send(Message::text(msg.to_string())).await.unwrap();
    }
    // The acknowledgement and one matrix per subscription.
    let produced = 1 + SUBSCRIPTIONS;

    // The places are the stalled connection's until the server cuts it off; then a new
    // subscriber is let in (and replays the seed at once, which tells it was).
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(
            tries < 300,
            "the stalled subscriber's place was never given back"
        );
        let mut other = Ws::connect(app.addr, None).await;
        other
            .subscribe("o", CHANGES, json!({ "after": start }))
            .await;
        let m = other
            .message()
            .await
            .expect("an answer to the subscription");
        if m["payload"]["errors"].is_null() {
            assert_eq!(m["type"], "next", "{m}");
            break;
        }
        assert_eq!(
            m["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
            "{m}"
        );
        // The server gives up on the stalled one after its send timeout (1 s here).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // What reached the stalled client is a bounded part of what it subscribed to: it reads
    // what was in flight, then the connection ends.
    let mut received = 0;
    loop {
        let next = tokio::time::timeout(Duration::from_mins(1), ws.next())
            .await
            .expect("the stalled connection is closed in time");
        match next {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    assert!(
        received < produced,
        "{received} of {produced} messages were kept for the stalled subscriber"
    );
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires() {
    let app = TestApp::spawn().await;
    let expires = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let token = crate::helpers::create_token(
        &app.db,
        "short-lived",
        entity::api_token::TokenRole::Viewer,
        Some(expires),
    )
    .await;
    let mut ws = Ws::connect(app.addr, Some(&token)).await;
    ws.subscribe("s", CHANGES, json!({})).await;
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
    assert!(
        chrono::Utc::now() >= expires,
        "closed before the token expired"
    );
}
