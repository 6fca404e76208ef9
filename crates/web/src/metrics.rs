//! Prometheus text metrics: requests by status class and latency sum.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Counters exposed at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: [AtomicU64; 5],
    pub latency_micros_sum: AtomicU64,
}

/// Middleware counting each response by status class.
pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let t = Instant::now();
    let res = next.run(req).await;
    let class = (res.status().as_u16() / 100).clamp(1, 5) as usize - 1;
    st.metrics.requests[class].fetch_add(1, Ordering::Relaxed);
    st.metrics
        .latency_micros_sum
        .fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
    res
}

impl Metrics {
    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut s = String::from(
            "# HELP dangjian_http_requests_total HTTP responses by status class.\n\
             # TYPE dangjian_http_requests_total counter\n",
        );
        for (i, c) in self.requests.iter().enumerate() {
            s.push_str(&format!(
                "dangjian_http_requests_total{{class=\"{}xx\"}} {}\n",
                i + 1,
                c.load(Ordering::Relaxed)
            ));
        }
        s.push_str(
            "# HELP dangjian_http_request_duration_seconds_sum Total time spent answering requests.\n\
             # TYPE dangjian_http_request_duration_seconds_sum counter\n",
        );
        s.push_str(&format!(
            "dangjian_http_request_duration_seconds_sum {}\n",
            self.latency_micros_sum.load(Ordering::Relaxed) as f64 / 1e6
        ));
        s
    }
}
