//! The sign-in throttling rule: a few mistakes are free, then every further
//! attempt waits twice as long as the one before.

/// Failures counted within this window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures per account before waits begin.
pub const FREE_PER_ACCOUNT: i64 = 5;
/// Failures per address (across accounts) before waits begin.
pub const FREE_PER_ADDRESS: i64 = 20;
/// The longest wait.
pub const MAX_WAIT_MS: i64 = 15 * 60 * 1000;

/// How long after the last failure the next attempt must wait, given the
/// failures in the window and how many are free: none for the free ones,
/// then 1 s, 2 s, 4 s … up to 15 minutes.
pub fn wait_after(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(20) as u32;
    (1000i64 << doublings).min(MAX_WAIT_MS)
}

/// Milliseconds still to wait at `now`, or 0.
pub fn remaining(failures: i64, free: i64, last_failure_at: Option<i64>, now: i64) -> i64 {
    match last_failure_at {
        Some(last) => (last + wait_after(failures, free) - now).max(0),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_attempts() {
        assert_eq!(wait_after(0, 5), 0);
        assert_eq!(wait_after(4, 5), 0);
        assert_eq!(wait_after(5, 5), 1000);
        assert_eq!(wait_after(6, 5), 2000);
        assert_eq!(wait_after(9, 5), 16000);
        assert_eq!(wait_after(40, 5), MAX_WAIT_MS);
        assert_eq!(remaining(5, 5, Some(10_000), 10_400), 600);
        assert_eq!(remaining(5, 5, Some(10_000), 12_000), 0);
        assert_eq!(remaining(3, 5, Some(10_000), 10_000), 0);
    }
}
