//! Short-lived in-process caches of what nearly every request reads again
//! (issue 6, the sign-in surge): the caller behind a bearer token or a
//! session cookie (user and role grants, [`crate::App::token_actor`],
//! [`crate::App::session_actor`]) and the meeting a sign-in names with its
//! organization.
//!
//! Entries live [`TTL`] (5 s) and are dropped at once by the writes of this
//! process that change what they hold: `App::callers_changed` after every
//! write of users, role grants, tokens, sessions or organizations (a grant
//! carries its organization's path), `App::meetings_changed` after every
//! write of a meeting or an organization. A write by another process (the
//! CLI's `user disable`, `user revoke-tokens`, another server on the same
//! PostgreSQL database) is seen within [`TTL`]; ARCHITECTURE.md and
//! SECURITY.md say so.
//!
//! A reader notes the [`Ttl::generation`] before it reads the database and
//! stores its result only if no invalidation happened in between, so a
//! read that started before a revocation committed cannot put the revoked
//! caller back. Only successes are stored: an unknown token is looked up
//! every time.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dangjian_store::entities::{meeting, org};

use crate::Actor;

/// How long an entry is trusted without asking the database again.
pub const TTL: Duration = Duration::from_secs(5);

/// Entries per cache before expired ones are swept (and, if all are fresh,
/// everything is dropped): bounds memory whatever the number of callers.
pub const MAX_ENTRIES: usize = 100_000;

/// A caller as the database had it: the actor without a remote address,
/// and when the credential expires (checked on every use against the
/// application's clock).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Arc<Actor>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The session's CSRF token (sessions only).
    pub csrf: Option<String>,
}

/// The caches of one `App` (shared by its clones).
#[derive(Debug)]
pub struct Caches {
    /// SHA-256 of a bearer token → its caller.
    pub tokens: Ttl<[u8; 32], Caller>,
    /// SHA-256 of a session secret → its caller.
    pub sessions: Ttl<[u8; 32], Caller>,
    /// Meeting id → the meeting and its organization, as a sign-in reads them.
    pub meetings: Ttl<i64, Arc<(meeting::Model, org::Model)>>,
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            tokens: Ttl::new(TTL, MAX_ENTRIES),
            sessions: Ttl::new(TTL, MAX_ENTRIES),
            meetings: Ttl::new(TTL, MAX_ENTRIES),
        }
    }
}

/// A map whose entries expire after a fixed time and that can be emptied
/// at once.
#[derive(Debug)]
pub struct Ttl<K, V> {
    ttl: Duration,
    max: usize,
    inner: Mutex<Inner<K, V>>,
}

#[derive(Debug)]
struct Inner<K, V> {
    generation: u64,
    map: HashMap<K, (V, Instant)>,
}

impl<K: Eq + Hash, V: Clone> Ttl<K, V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            ttl,
            max: max.max(1),
            inner: Mutex::new(Inner {
                generation: 0,
                map: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock leaves a consistent map (every
        // operation is a single insert, remove or clear).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value under `k` if stored less than the TTL before `now`.
    pub fn get(&self, k: &K, now: Instant) -> Option<V> {
        let g = self.lock();
        let (v, at) = g.map.get(k)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| v.clone())
    }

    /// The invalidation counter; take it before reading what [`Ttl::put`]
    /// will store.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Stores `v` under `k` unless [`Ttl::clear`] ran since `generation`
    /// was taken.
    pub fn put(&self, k: K, v: V, generation: u64, now: Instant) {
        let mut g = self.lock();
        if g.generation != generation {
            return;
        }
        if g.map.len() >= self.max {
            let ttl = self.ttl;
            g.map
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            if g.map.len() >= self.max {
                g.map.clear();
            }
        }
        g.map.insert(k, (v, now));
    }

    /// Forgets one entry (a credential found expired or revoked).
    pub fn remove(&self, k: &K) {
        self.lock().map.remove(k);
    }

    /// Forgets everything, and refuses the stores of reads begun before.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.generation = g.generation.wrapping_add(1);
        g.map.clear();
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let c: Ttl<u32, &str> = Ttl::new(Duration::from_secs(5), 10);
        let t0 = Instant::now();
        c.put(1, "a", c.generation(), t0);
        assert_eq!(c.get(&1, t0 + Duration::from_secs(4)), Some("a"));
        assert_eq!(c.get(&1, t0 + Duration::from_secs(5)), None);
        assert_eq!(c.get(&2, t0), None);
    }

    #[test]
    fn clear_refuses_reads_begun_before_it() {
        let c: Ttl<u32, &str> = Ttl::new(Duration::from_secs(5), 10);
        let t0 = Instant::now();
        c.put(1, "a", c.generation(), t0);
        // A reader takes the generation, a revocation clears the cache,
        // then the reader's (stale) result arrives.
        let g = c.generation();
        c.clear();
        assert_eq!(c.get(&1, t0), None);
        c.put(2, "stale", g, t0);
        assert_eq!(c.get(&2, t0), None);
        c.put(2, "fresh", c.generation(), t0);
        assert_eq!(c.get(&2, t0), Some("fresh"));
    }

    #[test]
    fn size_is_bounded() {
        let c: Ttl<u32, u32> = Ttl::new(Duration::from_secs(5), 3);
        let t0 = Instant::now();
        for i in 0..3 {
            c.put(i, i, c.generation(), t0);
        }
        // Full of fresh entries: emptied, then the new one stored.
        c.put(9, 9, c.generation(), t0);
        assert_eq!(c.len(), 1);
        // Expired entries go first.
        let later = t0 + Duration::from_secs(6);
        c.put(10, 10, c.generation(), later);
        c.put(11, 11, c.generation(), later);
        c.put(12, 12, c.generation(), later);
        assert_eq!(c.get(&10, later), Some(10));
        assert_eq!(c.len(), 3);
        c.remove(&10);
        assert_eq!(c.get(&10, later), None);
    }
}
