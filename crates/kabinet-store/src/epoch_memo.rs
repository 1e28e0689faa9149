//! What the server remembers of the database between requests, valid while
//! an epoch stands still.
//!
//! An epoch is a counter in the database that triggers move on, in the same
//! transaction, whenever what is remembered may have changed (the search
//! epoch of migration 18, the company epoch of migration 20). A reader reads
//! the epoch first, then the data, and remembers the data under the epoch it
//! read: a change committed between the two is then in the data but not in
//! the epoch, and the next reader, reading the newer epoch, reads again. A
//! change committed later moves the epoch past the one remembered. So a
//! change applies to the next request, whoever made it (this server,
//! another node, the command line, plain SQL).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The epochs a request read before anything else (with its API token):
/// the search epoch (migration 18) and the company epoch (migration 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadEpochs {
    pub search: i64,
    pub company: i64,
}

/// Values by key, all read at one epoch.
#[derive(Debug)]
pub struct EpochMemo<K, V> {
    state: Mutex<State<K, V>>,
    /// More entries than this and the memo starts again: a bound on
    /// memory, not a policy.
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug)]
struct State<K, V> {
    epoch: i64,
    values: HashMap<K, V>,
}

impl<K, V> State<K, V> {
    /// Moves to `epoch` when it is newer, forgetting everything held (an
    /// older epoch, a reader that read it before the last change, then
    /// neither reads nor writes). What is forgotten is handed back to be
    /// dropped after the lock is let go: freeing thousands of cards takes
    /// milliseconds that other requests would otherwise wait for.
    fn advance(&mut self, epoch: i64) -> Option<HashMap<K, V>> {
        (epoch > self.epoch).then(|| {
            self.epoch = epoch;
            std::mem::take(&mut self.values)
        })
    }
}

impl<K: Eq + Hash, V: Clone> EpochMemo<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                epoch: 0,
                values: HashMap::new(),
            }),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value of `key` read at `epoch`, if remembered (counted as a hit
    /// or a miss).
    pub fn get<Q>(&self, epoch: i64, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let found = self.read(epoch, |values| values.and_then(|v| v.get(key).cloned()));
        self.count(u64::from(found.is_some()), 1);
        found
    }

    /// [`EpochMemo::get`] of each of `keys`, under one lock (each counted
    /// as a hit or a miss).
    pub fn get_many(&self, epoch: i64, keys: &[K]) -> Vec<Option<V>> {
        let found: Vec<Option<V>> = self.read(epoch, |values| {
            keys.iter()
                .map(|key| values.and_then(|v| v.get(key).cloned()))
                .collect()
        });
        let hits = found.iter().filter(|v| v.is_some()).count() as u64;
        self.count(hits, found.len() as u64);
        found
    }

    /// `look` at what is remembered at `epoch` (`None` where the memo
    /// stands at another epoch), under the lock, after moving to `epoch`
    /// where it is newer; what that forgets is dropped after the lock.
    fn read<R>(&self, epoch: i64, look: impl FnOnce(Option<&HashMap<K, V>>) -> R) -> R {
        let (found, forgotten) = {
            let mut state = self.lock();
            let forgotten = state.advance(epoch);
            let current = (state.epoch == epoch).then_some(&state.values);
            (look(current), forgotten)
        };
        drop(forgotten);
        found
    }

    /// Counts `hits` of `reads` as hits, the rest as misses.
    fn count(&self, hits: u64, reads: u64) {
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(reads - hits, Ordering::Relaxed);
    }

    /// Remembers `value`, read after `epoch` was (not when the memo has
    /// seen a newer epoch meanwhile).
    pub fn put(&self, epoch: i64, key: K, value: V) {
        self.put_many(epoch, std::iter::once((key, value)));
    }

    /// [`EpochMemo::put`] of each of `entries`, under one lock.
    pub fn put_many(&self, epoch: i64, entries: impl IntoIterator<Item = (K, V)>) {
        let mut forgotten = Vec::new();
        {
            let mut state = self.lock();
            forgotten.extend(state.advance(epoch));
            if state.epoch == epoch {
                for (key, value) in entries {
                    if state.values.len() >= self.capacity {
                        forgotten.push(std::mem::take(&mut state.values));
                    }
                    state.values.insert(key, value);
                }
            }
        }
        drop(forgotten);
    }

    /// The epoch moved from `from` to `to` by one transaction of this
    /// process that knows what it changed: the entries `keep` accepts are
    /// as true after it as before, and `fresh` holds values it read after
    /// its changes. Where the memo stands at `from`, the entries `keep`
    /// refuses are forgotten and the rest stays, now at `to` (a reader still
    /// at `from` then neither reads nor writes, as after any move).
    /// Anywhere else this is [`EpochMemo::put_many`] of `fresh` at `to`: a
    /// change of another process (or one made meanwhile) forgets everything
    /// as ever.
    pub fn step(
        &self,
        from: i64,
        to: i64,
        keep: impl Fn(&K, &V) -> bool,
        fresh: impl IntoIterator<Item = (K, V)>,
    ) {
        let mut forgotten = Vec::new();
        {
            let mut state = self.lock();
            if state.epoch == from && to > from {
                forgotten.extend(state.values.extract_if(|key, value| !keep(key, value)));
                state.epoch = to;
            }
        }
        drop(forgotten);
        self.put_many(to, fresh);
    }

    /// Forgets `key` (its next read goes to the database).
    pub fn forget(&self, key: &K) {
        let forgotten = self.lock().values.remove(key);
        drop(forgotten);
    }

    /// Forgets everything remembered (the next reads go to the database).
    pub fn clear(&self) {
        let forgotten = std::mem::take(&mut self.lock().values);
        drop(forgotten);
    }

    fn lock(&self) -> MutexGuard<'_, State<K, V>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads answered from the memo and reads that went to the database,
    /// since the server started.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_from_the_memo_s_epoch_forgets_only_what_changed() {
        let memo: EpochMemo<i64, &str> = EpochMemo::new(8);
        memo.put_many(4, [(1, "one"), (2, "two"), (3, "three")]);
        memo.step(4, 5, |key, _| *key != 2, [(2, "two, edited")]);
        assert_eq!(memo.get(5, &1), Some("one"));
        assert_eq!(memo.get(5, &2), Some("two, edited"));
        assert_eq!(memo.get(5, &3), Some("three"));
        // A reader still at the old epoch neither reads nor writes.
        assert_eq!(memo.get(4, &1), None);
        memo.put(4, 2, "two, stale");
        assert_eq!(memo.get(5, &2), Some("two, edited"));

        // From an epoch the memo does not stand at (another process moved
        // it meanwhile): everything goes, the fresh value stays.
        memo.step(6, 7, |key, _| *key != 1, [(1, "one, edited")]);
        assert_eq!(memo.get(7, &1), Some("one, edited"));
        assert_eq!(memo.get(7, &3), None);
        // A step behind the memo changes nothing.
        memo.step(5, 6, |_, _| true, [(1, "one, old")]);
        assert_eq!(memo.get(7, &1), Some("one, edited"));
    }

    #[test]
    fn a_newer_epoch_forgets_and_an_older_one_neither_reads_nor_writes() {
        let memo: EpochMemo<i64, &str> = EpochMemo::new(2);
        memo.put(1, 7, "seven");
        assert_eq!(memo.get(1, &7), Some("seven"));
        // A reader that read an older epoch gets nothing and leaves nothing.
        assert_eq!(memo.get(0, &7), None);
        memo.put(0, 8, "stale");
        assert_eq!(memo.get(1, &8), None);
        // A newer epoch forgets what was read before it.
        assert_eq!(memo.get(2, &7), None);
        memo.put(1, 7, "late");
        assert_eq!(memo.get(2, &7), None);
        assert_eq!(memo.counts(), (1, 4));
    }

    #[test]
    fn many_at_once_are_each_a_get_or_a_put() {
        let memo: EpochMemo<i64, i64> = EpochMemo::new(3);
        memo.put_many(1, [(1, 10), (2, 20)]);
        assert_eq!(memo.get_many(1, &[2, 3, 1]), [Some(20), None, Some(10)]);
        assert_eq!(memo.counts(), (2, 1));
        // An older epoch's reader neither reads nor writes.
        assert_eq!(memo.get_many(0, &[1]), [None]);
        memo.put_many(0, [(3, 30)]);
        assert_eq!(memo.get(1, &3), None);
        // Past the capacity within one batch, the memo starts again.
        memo.put_many(1, [(3, 30), (4, 40), (5, 50)]);
        assert_eq!(memo.get_many(1, &[1, 4, 5]), [None, Some(40), Some(50)]);
        // A newer epoch forgets everything before it.
        assert_eq!(memo.get_many(2, &[4, 5]), [None, None]);
    }

    #[test]
    fn past_its_capacity_it_starts_again() {
        let memo: EpochMemo<i64, i64> = EpochMemo::new(2);
        memo.put(1, 1, 10);
        memo.put(1, 2, 20);
        memo.put(1, 3, 30);
        assert_eq!(memo.get(1, &1), None);
        assert_eq!(memo.get(1, &3), Some(30));
    }
}
