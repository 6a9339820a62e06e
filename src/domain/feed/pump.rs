//! The pump of a process's feed: reads the change log after the last change it published and
//! publishes what it finds, whenever it is woken (see the feed's module documentation).

use super::{Inner, log};
use crate::error::AppResult;
use migration::CHANNEL;
use sea_orm::DbBackend;
use sea_orm::sqlx::postgres::PgListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// How often the log is read while announcements cannot be heard (`SQLite` across processes,
/// `PostgreSQL` with its listener down): changes made elsewhere arrive within this.
const POLL: Duration = Duration::from_millis(500);

/// How often the log is read while listening, in case a connection broke without a sign.
const SAFETY_POLL: Duration = Duration::from_secs(5);

/// The longest wait between attempts to listen again after the listener's connection broke.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Runs the pump until `stop` fires (the last handle of the feed is dropped).
pub(super) async fn run(inner: Arc<Inner>, mut stop: oneshot::Receiver<()>) {
    let pumping = async {
        let mut last = loop {
            match log::head(&inner.db).await {
                Ok(head) => break head,
                Err(_) => tokio::time::sleep(POLL).await,
            }
        };
        inner.head.store(last, Ordering::SeqCst);
        match inner.db.get_database_backend() {
            DbBackend::Postgres => listen(&inner, &mut last).await,
            _ => poll(&inner, &mut last).await,
        }
    };
    tokio::select! {
        () = pumping => {}
        _ = &mut stop => {}
    }
}

/// `SQLite`: woken by this process's commits, and polling for other processes'.
async fn poll(inner: &Inner, last: &mut i64) {
    loop {
        tokio::select! {
            () = inner.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        // A failed read is tried again at the next wake-up; nothing is lost meanwhile.
        let _ = catch_up(inner, last).await;
    }
}

/// `PostgreSQL`: a listener for the commit trigger's notifications beside the pump, which reads
/// the log on each. While the listener cannot connect, the pump polls; once it reconnects, the
/// pump catches up first. (The two run side by side in one task, so the listener's receive is
/// never cancelled half-way.)
async fn listen(inner: &Inner, last: &mut i64) {
    let heard = Notify::new();
    let connected = AtomicBool::new(false);
    let listening = async {
        let mut backoff = Duration::from_millis(100);
        loop {
            let Ok(mut listener) = connect(inner).await else {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            };
            backoff = Duration::from_millis(100);
            connected.store(true, Ordering::SeqCst);
            heard.notify_one();
            loop {
                match listener.try_recv().await {
                    // A change committed: cached answers are stale from now on, before the
                    // pump has read what it was.
                    Ok(Some(_)) => {
                        inner.generation.fetch_add(1, Ordering::SeqCst);
                        heard.notify_one();
                    }
                    // Reconnected at once: notifications may have been missed meanwhile.
                    Ok(None) => {
                        inner.generation.fetch_add(1, Ordering::SeqCst);
                        heard.notify_one();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the change listener's connection; reconnecting");
                        connected.store(false, Ordering::SeqCst);
                        inner.listening.store(false, Ordering::SeqCst);
                        inner.generation.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }
    };
    let pumping = async {
        loop {
            let period = if connected.load(Ordering::SeqCst) {
                SAFETY_POLL
            } else {
                POLL
            };
            tokio::select! {
                () = inner.wake.notified() => {}
                () = heard.notified() => {}
                () = tokio::time::sleep(period) => {}
            }
            let caught_up = catch_up(inner, last).await.is_ok();
            inner.listening.store(
                caught_up && connected.load(Ordering::SeqCst),
                Ordering::SeqCst,
            );
        }
    };
    tokio::join!(listening, pumping);
}

async fn connect(inner: &Inner) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(inner.db.get_postgres_connection_pool()).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Publishes every change committed after `last`, advancing it.
async fn catch_up(inner: &Inner, last: &mut i64) -> AppResult<()> {
    loop {
        let page = log::after(&inner.db, *last).await?;
        let full = page.len() == log::PAGE;
        for commit in page {
            *last = commit.seq;
            inner.head.store(commit.seq, Ordering::SeqCst);
            inner.generation.fetch_add(1, Ordering::SeqCst);
            // No follower is no error.
            let _ = inner.channel.send(Arc::new(commit));
        }
        if !full {
            return Ok(());
        }
    }
}
