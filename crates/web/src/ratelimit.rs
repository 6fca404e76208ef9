//! Rate limits per remote address (issue 5, item 4): a token bucket for the
//! sign-in endpoints and one for the public endpoints (fee calculator,
//! ledger, OpenAPI document, certificate verification). Past the limit the
//! answer is 429 problem details with `Retry-After`. Requests without a known address (in-process
//! tests) are not limited; behind a reverse proxy every client shares the
//! proxy's address, so set the limits there instead (see SECURITY.md).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dangjian_app::AppError;

use crate::AppState;
use crate::error::ApiError;

/// Size and refill of one bucket.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: f64,
    /// Requests added back per second.
    pub per_sec: f64,
}

/// A token bucket per key.
#[derive(Debug)]
pub struct Buckets {
    rate: Rate,
    state: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Buckets {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now`; `Err(seconds)` to wait when
    /// the bucket is empty.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut m = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if m.len() > 50_000 {
            // Forget addresses that have been quiet long enough to be full.
            let full_after = Duration::from_secs_f64(self.rate.burst / self.rate.per_sec);
            m.retain(|_, (_, last)| now.saturating_duration_since(*last) < full_after);
        }
        let (tokens, last) = m.entry(key.to_string()).or_insert((self.rate.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate.per_sec).min(self.rate.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate.per_sec).ceil().max(1.0) as u64)
        }
    }
}

/// The limits of one server.
#[derive(Debug)]
pub struct RateLimits {
    pub login: Buckets,
    pub public: Buckets,
}

impl Default for RateLimits {
    /// Sign-in: 10 at once, then one every 6 s per address. Public: 120 at
    /// once, then 20 per second per address.
    fn default() -> Self {
        Self {
            login: Buckets::new(Rate {
                burst: 10.0,
                per_sec: 1.0 / 6.0,
            }),
            public: Buckets::new(Rate {
                burst: 120.0,
                per_sec: 20.0,
            }),
        }
    }
}

fn bucket<'a>(limits: &'a RateLimits, method: &Method, path: &str) -> Option<&'a Buckets> {
    let login = *method == Method::POST && (path == "/login" || path == "/api/v1/auth/login");
    let public = path == "/api/v1/fees/calculate"
        || path == "/api/v1/openapi.json"
        || path.starts_with("/ledger/")
        || path.starts_with("/api/v1/ledger/")
        || path.starts_with("/verify/")
        || path.starts_with("/api/v1/verify/");
    if login {
        Some(&limits.login)
    } else if public {
        Some(&limits.public)
    } else {
        None
    }
}

/// Middleware: refuses a request over its address's limit.
pub async fn limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    // The address is written out only for a limited route.
    if let Some(b) = bucket(&st.limits, req.method(), req.uri().path())
        && let Some(addr) = crate::auth::client_addr(req.extensions()).map(|ip| ip.to_string())
        && let Err(wait) = b.take(&addr, Instant::now())
    {
        return ApiError(AppError::Throttled(wait as i64)).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_refills() {
        let b = Buckets::new(Rate {
            burst: 3.0,
            per_sec: 0.5,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.take("a", t0), Ok(()));
        }
        assert_eq!(b.take("a", t0), Err(2));
        // Another address has its own bucket.
        assert_eq!(b.take("b", t0), Ok(()));
        assert_eq!(b.take("a", t0 + Duration::from_secs(1)), Err(1));
        assert_eq!(b.take("a", t0 + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn only_sign_in_and_public_routes_are_limited() {
        let l = RateLimits::default();
        assert!(bucket(&l, &Method::POST, "/login").is_some());
        assert!(bucket(&l, &Method::GET, "/login").is_none());
        assert!(bucket(&l, &Method::POST, "/api/v1/auth/login").is_some());
        assert!(bucket(&l, &Method::GET, "/ledger/checkpoint").is_some());
        assert!(bucket(&l, &Method::GET, "/verify/certificate/X").is_some());
        assert!(bucket(&l, &Method::GET, "/api/v1/verify/certificate/X").is_some());
        assert!(bucket(&l, &Method::GET, "/api/v1/members/1").is_none());
        assert!(bucket(&l, &Method::GET, "/healthz").is_none());
    }
}
