//! Rate limiting of `/graphql` per API token and per client address (GCRA via `governor`),
//! answering `429` with `Retry-After` and a GraphQL error body.

use super::connections::Peer;
use crate::config::Settings;
use crate::http::error_body::error_response;
use crate::http::wire::negotiate;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response as HttpResponse;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The stable code of a rate-limited request.
pub const RATE_LIMITED: &str = "RATE_LIMITED";
/// How many times a token's rate one client address may reach over all the tokens it sends:
/// tokens are not checked here, so without this ceiling a client could invent a new one for
/// every request; with it, a few dashboards behind one address still fit.
pub const ADDRESS_FACTOR: u32 = 10;
/// Stale keys are dropped every this many requests, so memory follows the clients active
/// in the last moments, not every client ever seen.
const HOUSEKEEPING_EVERY: u64 = 1024;

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// A bearer token, by a keyed hash of it (the token itself is never kept).
    Token(u64),
    /// A client address.
    Address(IpAddr),
}

/// The keyed limiters of one running service.
pub struct RateLimit {
    per_key: DefaultKeyedRateLimiter<Key>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    hasher: RandomState,
    requests: AtomicU64,
    per_second: u32,
    burst: u32,
}

impl RateLimit {
    /// The limiter `settings` describe; `None` when rate limiting is off.
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        let per_second = NonZeroU32::new(settings.rate_limit_per_second)?;
        let burst = NonZeroU32::new(settings.rate_limit_burst).unwrap_or(per_second);
        let scaled =
            |n: NonZeroU32| NonZeroU32::new(n.get().saturating_mul(ADDRESS_FACTOR)).unwrap_or(n);
        Some(Self {
            per_key: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ),
            per_address: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(scaled(per_second)).allow_burst(scaled(burst)),
            ),
            clock: DefaultClock::default(),
            hasher: RandomState::new(),
            requests: AtomicU64::new(0),
            per_second: per_second.get(),
            burst: burst.get(),
        })
    }

    /// Counts one request; `Err` holds how long the caller must wait.
    fn check(&self, token: Option<&str>, address: IpAddr) -> Result<(), Duration> {
        if self
            .requests
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(HOUSEKEEPING_EVERY)
        {
            self.per_key.retain_recent();
            self.per_key.shrink_to_fit();
            self.per_address.retain_recent();
            self.per_address.shrink_to_fit();
        }
        let now = self.clock.now();
        let key = match token {
            Some(t) => {
                self.per_address
                    .check_key(&address)
                    .map_err(|n| n.wait_time_from(now))?;
                Key::Token(self.hasher.hash_one(t))
            }
            None => Key::Address(address),
        };
        self.per_key
            .check_key(&key)
            .map_err(|n| n.wait_time_from(now))
    }

    /// Keys tracked right now (for tests of the housekeeping).
    pub fn tracked(&self) -> usize {
        self.per_key.len() + self.per_address.len()
    }
}

/// The credential of the request, if it sends one: the bearer token, or else the whole
/// `Authorization` value.
fn credential(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

/// A `Retry-After` value: whole seconds, at least one.
pub fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

/// The middleware: counts the request against its token (or its address) and refuses it with
/// `429 Too Many Requests` when over the rate.
pub async fn limit(
    State(limiter): State<Arc<RateLimit>>,
    req: axum::extract::Request,
    next: Next,
) -> HttpResponse {
    if req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    let extensions = req.extensions();
    let address = extensions
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.addr.ip())
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let verdict = limiter.check(credential(req.headers()), address);
    match verdict {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            crate::metrics::METRICS.rate_limited.inc();
            let retry = retry_after(wait);
            let message = format!(
                "too many requests: each API token (or, without one, each client) may make {} requests a second on average, {} at once; retry after {} s",
                limiter.per_second,
                limiter.burst,
                retry.to_str().unwrap_or("1"),
            );
            error_response(
                StatusCode::TOO_MANY_REQUESTS,
                negotiate(req.headers()),
                RATE_LIMITED,
                &message,
                &[(header::RETRY_AFTER, retry)],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_at_least_one() {
        assert_eq!(retry_after(Duration::ZERO), "1");
        assert_eq!(retry_after(Duration::from_millis(20)), "1");
        assert_eq!(retry_after(Duration::from_millis(1500)), "2");
        assert_eq!(retry_after(Duration::from_secs(3)), "3");
    }

    #[test]
    fn the_bearer_token_is_the_key_whatever_the_scheme_case() {
        let mut h = HeaderMap::new();
        assert_eq!(credential(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(credential(&h), Some("abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(credential(&h), Some("abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eHl6"),
        );
        assert_eq!(credential(&h), Some("Basic eHl6"));
    }

    #[test]
    fn stale_keys_are_dropped() {
        let settings = Settings {
            rate_limit_per_second: 1000,
            rate_limit_burst: 1,
            ..Settings::default()
        };
        let Some(limit) = RateLimit::from_settings(&settings) else {
            panic!("enabled");
        };
        for i in 0..HOUSEKEEPING_EVERY {
            let ip = IpAddr::V4(Ipv4Addr::from(i as u32));
            assert!(limit.check(None, ip).is_ok());
        }
        assert!(limit.tracked() >= HOUSEKEEPING_EVERY as usize);
        // 1000/s with a burst of one: every key is fresh again after a few milliseconds.
        std::thread::sleep(Duration::from_millis(20));
        assert!(limit.check(None, IpAddr::V4(Ipv4Addr::LOCALHOST)).is_ok());
        assert!(limit.tracked() <= 2, "{} keys kept", limit.tracked());
    }
}
