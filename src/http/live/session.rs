//! One subscriber's session (a WebSocket connection, or one event stream): who the caller is,
//! checked again whenever a token changes or expires, and why the session must end.

use super::LiveState;
use crate::auth::{self, AuthFailure, Caller};
use crate::domain::feed::{Feed, Position};
use entity::audit_event::AuditSubject;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use tokio::sync::Notify;

/// The close code of a session whose token was refused, revoked or expired.
pub(super) const FORBIDDEN: u16 = 4403;

/// A subscriber's session.
#[derive(Default)]
pub struct Session {
    caller: Mutex<Caller>,
    /// The `Authorization` value the caller signed in with, to check again.
    credentials: Mutex<Option<Vec<u8>>>,
    /// The change log's place just before the credentials were checked: every change to
    /// tokens committed after the check lies after it.
    checked_at: Mutex<Option<Position>>,
    /// Subscriptions open in this session.
    pub(super) subscriptions: AtomicUsize,
    /// Why the session must end: a close code and reason.
    end: Mutex<Option<(u16, String)>>,
    ended: Notify,
    signed_in: Notify,
    in_: AtomicBool,
}

impl Session {
    /// The caller, as signed in (anonymous before).
    pub fn caller(&self) -> Caller {
        lock(&self.caller).clone()
    }

    /// Signs the caller in with an `Authorization` value (none: anonymous). The refusal is a
    /// message for the client: bad credentials, or none where reads require a token.
    pub async fn sign_in(&self, state: &LiveState, header: Option<Vec<u8>>) -> Result<(), String> {
        // Read before the check, so that a revocation committed after it cannot be missed (one
        // committed before it fails the check itself).
        let checked_at = if header.is_some() {
            match state.feed.cursor().await {
                Ok(at) => Some(at),
                Err(e) => return Err(e.to_string()),
            }
        } else {
            None
        };
        let caller = match auth::authenticate(&state.db, &state.last_used, header.as_deref()).await
        {
            Ok(Caller::Anonymous) if state.reads_require_token => {
                return Err(
                    "this service requires a bearer token (`Authorization: Bearer <token>`)"
                        .to_owned(),
                );
            }
            Ok(caller) => caller,
            Err(AuthFailure::Access(e)) => return Err(e.to_string()),
            Err(AuthFailure::Internal(e)) => return Err(e.to_string()),
        };
        *lock(&self.caller) = caller;
        *lock(&self.credentials) = header;
        *lock(&self.checked_at) = checked_at;
        self.in_.store(true, Ordering::SeqCst);
        self.signed_in.notify_one();
        Ok(())
    }

    /// Whether the caller has signed in.
    pub fn signed_in(&self) -> bool {
        self.in_.load(Ordering::SeqCst)
    }

    /// Ends the session with `code` and `reason` (the first reason given stands).
    pub fn end(&self, code: u16, reason: impl Into<String>) {
        let mut end = lock(&self.end);
        if end.is_none() {
            *end = Some((code, reason.into()));
        }
        drop(end);
        self.ended.notify_one();
    }

    /// Why the session ended, if it did.
    pub fn reason(&self) -> Option<(u16, String)> {
        lock(&self.end).clone()
    }

    /// Waits until the session must end; the code and reason.
    pub async fn ended(&self) -> (u16, String) {
        loop {
            if let Some(reason) = self.reason() {
                return reason;
            }
            self.ended.notified().await;
        }
    }

    /// Once signed in with a token, ends the session when the token expires, or when a change
    /// to tokens (a revocation, by the API, the command line or plain SQL) leaves it invalid.
    /// Never returns otherwise.
    pub async fn guard_token(&self, state: &LiveState, feed: &Feed) {
        self.signed_in.notified().await;
        let Caller::Token(principal) = self.caller() else {
            return std::future::pending().await;
        };
        let from = *lock(&self.checked_at);
        let mut changes = Box::pin(feed.follow(from));
        let expiry = async {
            match principal.expires_at {
                Some(at) => {
                    let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                    tokio::time::sleep(left).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                () = &mut expiry => {
                    self.end(FORBIDDEN, format!("the bearer token {} has expired", principal.name));
                    return;
                }
                d = changes.next() => {
                    let Some(d) = d else { return std::future::pending().await };
                    let r = d.record();
                    let ours = r.subject == Some(AuditSubject::ApiToken)
                        && r.id.is_none_or(|id| id == principal.token_id);
                    if !ours {
                        continue;
                    }
                    let header = lock(&self.credentials).clone();
                    // Checked until the database answers: a revocation is never let pass.
                    loop {
                        match auth::authenticate(&state.db, &state.last_used, header.as_deref())
                            .await
                        {
                            Ok(_) => break,
                            Err(AuthFailure::Access(e)) => {
                                self.end(FORBIDDEN, e.to_string());
                                return;
                            }
                            Err(AuthFailure::Internal(_)) => {
                                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                            }
                        }
                    }
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
