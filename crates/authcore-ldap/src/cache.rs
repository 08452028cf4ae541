//! A small TTL cache for DN lookups and group memberships (never passwords or binds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use authcore_core::Clock;
use time::OffsetDateTime;

/// Beyond this many entries, expired ones are dropped, then everything if still full.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct TtlCache<V> {
    ttl: Duration,
    clock: Arc<dyn Clock>,
    map: Mutex<HashMap<String, (OffsetDateTime, V)>>,
}

impl<V: Clone> TtlCache<V> {
    /// A cache whose entries live `ttl` by `clock`; a zero `ttl` caches nothing.
    pub(crate) fn new(ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            ttl,
            clock,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an entry stored `at` is still fresh at `now`. A clock that went back before
    /// `at` expires it too: an entry never outlives `ttl` because the clock was set back.
    fn fresh(&self, at: OffsetDateTime, now: OffsetDateTime) -> bool {
        let age = now - at;
        !age.is_negative() && age < self.ttl
    }

    pub(crate) fn get(&self, key: &str) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let now = self.clock.now();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(key) {
            Some((at, v)) if self.fresh(*at, now) => Some(v.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn insert(&self, key: String, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let now = self.clock.now();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (at, _)| self.fresh(*at, now));
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (now, value));
    }

    pub(crate) fn clear(&self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use authcore_testkit::ManualClock;

    use super::*;

    #[test]
    fn entries_expire_at_the_ttl_and_zero_ttl_disables() {
        let clock = ManualClock::at_unix(1_000_000);
        let c = TtlCache::new(Duration::from_secs(300), Arc::new(clock.clone()));
        c.insert("a".into(), 1);
        clock.advance(time::Duration::seconds(299));
        assert_eq!(c.get("a"), Some(1), "fresh one second before the ttl");
        clock.advance(time::Duration::seconds(1));
        assert_eq!(c.get("a"), None, "expired at exactly the ttl");
        // Gone for good, not only hidden: a later clock set back does not revive it.
        clock.advance(time::Duration::seconds(-300));
        assert_eq!(c.get("a"), None);

        // A clock set back behind an entry expires it.
        c.insert("b".into(), 2);
        clock.advance(time::Duration::seconds(-1));
        assert_eq!(c.get("b"), None);

        let off = TtlCache::new(Duration::ZERO, Arc::new(clock));
        off.insert("a".into(), 1);
        assert_eq!(off.get("a"), None);
    }

    #[test]
    fn size_is_bounded_and_expired_entries_go_first() {
        let clock = ManualClock::at_unix(1_000_000);
        let c = TtlCache::new(Duration::from_secs(60), Arc::new(clock.clone()));
        for i in 0..MAX_ENTRIES {
            c.insert(i.to_string(), i);
        }
        assert_eq!(c.map.lock().unwrap().len(), MAX_ENTRIES);
        // Full of fresh entries: everything goes.
        c.insert("full".into(), 0);
        assert_eq!(c.map.lock().unwrap().len(), 1);
        for i in 1..MAX_ENTRIES {
            c.insert(i.to_string(), i);
        }
        clock.advance(time::Duration::seconds(60));
        c.insert("fresh".into(), 1);
        clock.advance(time::Duration::seconds(1));
        for i in 0..MAX_ENTRIES - 1 {
            c.insert(format!("new{i}"), i);
        }
        // The expired ones were dropped, the fresh one kept.
        assert_eq!(c.get("fresh"), Some(1));
        assert!(c.map.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
