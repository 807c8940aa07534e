//! [`PoolConfig`]: a plain struct with documented defaults, and the checks of its values;
//! [`Validation`]: when a resource is validated (read here only).

use std::borrow::Cow;
use std::time::Duration;

use super::error::BuildError;

/// When the pool validates a resource on checkout ([`Manager::validate`](super::Manager::validate)).
///
/// ```
/// use std::time::Duration;
/// use tenure::pool::Validation;
/// assert_eq!(Validation::default(), Validation::IdleLongerThan(Duration::from_millis(500)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validation {
    /// Never.
    Never,
    /// On every checkout.
    Always,
    /// Only for a resource idle longer than this (HikariCP's bypass window: a resource
    /// returned a moment ago is assumed good).
    IdleLongerThan(Duration),
}

impl Default for Validation {
    fn default() -> Self {
        Validation::IdleLongerThan(Duration::from_millis(500))
    }
}

impl Validation {
    /// Whether a resource idle for `idle_for` is validated before it is lent.
    pub(super) fn on_checkout(self, idle_for: Duration) -> bool {
        match self {
            Validation::Never => false,
            Validation::Always => true,
            Validation::IdleLongerThan(w) => idle_for > w,
        }
    }

    /// Whether a returned resource is validated before it is handed to a waiter ("always"
    /// means every checkout, a handoff included).
    pub(super) fn on_handoff(self) -> bool {
        self == Validation::Always
    }
}

/// How a pool behaves. Every field has a default (see [`Default`]).
///
/// ```
/// use std::time::Duration;
/// use tenure::pool::PoolConfig;
/// let config = PoolConfig { max_size: 16, acquire_timeout: Duration::from_secs(2), ..PoolConfig::default() };
/// assert_eq!(config.max_size, 16);
/// assert_eq!(config.min_idle, 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    /// The most resources the pool can still reach at once: idle, lent, and those being
    /// created, checked, reset or closed. Work abandoned past its bound (`create_timeout`,
    /// `check_timeout`, `return_timeout`, `close_timeout`) frees its slot: blocking work
    /// stuck past its bound keeps its thread, counted in
    /// [`Statistics::abandoned`](super::Statistics::abandoned), not hidden — and a
    /// resource it still holds may exist beside the `max_size` the pool reaches until that
    /// thread ends. Default: 10.
    pub max_size: usize,
    /// Idle resources kept ready by [`Pool::maintain`](super::Pool::maintain). Default: 0.
    pub min_idle: usize,
    /// How long `get` waits for a resource before a typed timeout. Default: 30 s.
    pub acquire_timeout: Duration,
    /// The bound on a create ([`Manager::create`](super::Manager::create)). Past it an
    /// async create is dropped; a blocking one cannot be preempted, so its slot is freed
    /// all the same and the thread left to finish on its own (a resource it hands back
    /// later is closed). Either way the waiter it served is told
    /// [`PoolError::CreateTimedOut`](super::PoolError::CreateTimedOut) and the event is
    /// counted in [`Statistics::abandoned`](super::Statistics::abandoned) and reported.
    /// Default: 30 s.
    pub create_timeout: Duration,
    /// Age at which a resource is retired (with up to 2.5 % jitter, so they do not all
    /// expire together). `None`: never. Default: 30 min.
    pub max_lifetime: Option<Duration>,
    /// Idle time after which a resource is retired. `None`: never. Default: 10 min.
    pub idle_timeout: Option<Duration>,
    /// When resources are validated on checkout. Default: idle longer than 500 ms.
    pub validation: Validation,
    /// The bound on [`Manager::reset`](super::Manager::reset) work before reuse. Past it
    /// the slot is freed: a future is dropped with its resource; blocking work is left to
    /// finish on its own thread and the resource it hands back later is closed. Counted in
    /// [`Statistics::abandoned`](super::Statistics::abandoned) and reported. Default: 5 s.
    pub return_timeout: Duration,
    /// The bound on [`Manager::validate`](super::Manager::validate) work, as
    /// `return_timeout` is on a reset: past it the slot is freed (and the waiter it served
    /// gets the next idle resource, or a create), the event counted and reported. A verdict
    /// blocking work hands back later is not used: its resource is closed, and a failing
    /// verdict reported (with the bound and the site of the get it was for).
    /// Default: 5 s.
    pub check_timeout: Duration,
    /// The bound on [`Manager::close`](super::Manager::close) of a retired resource: past
    /// it the slot is freed for a create (a blocking close left to finish on its own
    /// thread), the event counted and reported. Default: 5 s.
    pub close_timeout: Duration,
    /// The most callers that may wait at once; more fail at once with
    /// [`PoolError::Saturated`](super::PoolError::Saturated) (load shedding). Default: 10 000.
    pub max_waiters: usize,
    /// The most creates under way at once. Default: 2.
    pub max_concurrent_creates: usize,
    /// The first wait after a failed create before the next one; doubled (with jitter) on
    /// each failure in a row up to `max_create_backoff`. Default: 100 ms.
    pub create_backoff: Duration,
    /// The longest wait between failed creates. Default: 10 s.
    pub max_create_backoff: Duration,
    /// A lease held longer than this is reported as a likely leak — to the pool's
    /// [report sink](crate::sink) (a `tracing` warning by default) with the line that
    /// acquired it, counted in [`Statistics::leaks`](super::Statistics::leaks) — and
    /// reported again when it finally comes back. `None`: off. Default: 30 s (as long as
    /// callers wait by default: a lease held longer starves them).
    pub leak_threshold: Option<Duration>,
    /// How often the pool's background driver runs [`Pool::maintain`](super::Pool::maintain)
    /// (on the pool's runtime, else on a thread of its own; it stops when the pool is
    /// dropped or closed). `None`: no driver — call `maintain` yourself, as deterministic
    /// tests do. Correctness never depends on it. Default: 1 s.
    pub maintenance_interval: Option<Duration>,
    /// The pool's name in its reports, `tracing` events and (feature `metrics`) the
    /// `pool` label of its metrics: a literal (`"db".into()`) or built at run time
    /// (`format!("tenant-{id}").into()`). Default: `"pool"`.
    ///
    /// ```
    /// use tenure::pool::PoolConfig;
    /// let shard = 3;
    /// let config = PoolConfig { name: format!("db-{shard}").into(), ..PoolConfig::default() };
    /// assert_eq!(config.name, "db-3");
    /// ```
    pub name: Cow<'static, str>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 10,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(30),
            create_timeout: Duration::from_secs(30),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            validation: Validation::default(),
            return_timeout: Duration::from_secs(5),
            check_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(5),
            max_waiters: 10_000,
            max_concurrent_creates: 2,
            create_backoff: Duration::from_millis(100),
            max_create_backoff: Duration::from_secs(10),
            leak_threshold: Some(Duration::from_secs(30)),
            maintenance_interval: Some(Duration::from_secs(1)),
            name: Cow::Borrowed("pool"),
        }
    }
}

impl PoolConfig {
    /// Checks the values a pool cannot work with (what building a pool checks first).
    ///
    /// ```
    /// use tenure::pool::{BuildError, PoolConfig};
    /// assert_eq!(PoolConfig::default().check(), Ok(()));
    /// let bad = PoolConfig { min_idle: 5, max_size: 2, ..PoolConfig::default() };
    /// assert_eq!(bad.check(), Err(BuildError::Config("min_idle must not exceed max_size")));
    /// ```
    pub fn check(&self) -> Result<(), BuildError> {
        let fail = |why| Err(BuildError::Config(why));
        if self.max_size == 0 {
            return fail("max_size must be at least 1");
        }
        if self.min_idle > self.max_size {
            return fail("min_idle must not exceed max_size");
        }
        if self.max_concurrent_creates == 0 {
            return fail("max_concurrent_creates must be at least 1");
        }
        if self.leak_threshold == Some(Duration::ZERO) {
            return fail("leak_threshold must be above zero (None turns it off)");
        }
        if self.maintenance_interval == Some(Duration::ZERO) {
            return fail("maintenance_interval must be above zero (None turns the driver off)");
        }
        Ok(())
    }

    /// Whether a resource idle for `idle_for` has been idle too long (`idle_timeout`).
    pub(super) fn idle_too_long(&self, idle_for: Duration) -> bool {
        self.idle_timeout.is_some_and(|t| idle_for >= t)
    }

    /// The steady state's reading of this configuration, in whole nanoseconds (the pool's
    /// time), made once when the pool is built.
    pub(super) fn limits(&self) -> Limits {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).ok();
        // Lent as it is while neither idle too long (`idle_for >= idle_timeout`) nor due a
        // validation (`on_checkout`): idle for less than the first of the two.
        let too_long = self.idle_timeout.and_then(nanos);
        let due = match self.validation {
            Validation::Never => None,
            Validation::Always => Some(0),
            Validation::IdleLongerThan(w) => nanos(w).and_then(|w| w.checked_add(1)),
        };
        let lend_within = match (too_long, due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Limits {
            lend_within,
            leak_after: self.leak_threshold.and_then(nanos),
        }
    }
}

/// What the steady state (a lend from a shard, a return into one) reads of a
/// [`PoolConfig`], in nanoseconds of the pool's time: one integer comparison each, where
/// the rules above compare `Duration`s. (`None`: no bound that a `u64` of nanoseconds can
/// reach — 584 years.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limits {
    /// An idle resource is lent as it is if idle for less than this: neither idle too long
    /// ([`PoolConfig::idle_too_long`]) nor due a validation ([`Validation::on_checkout`]).
    pub(super) lend_within: Option<u64>,
    /// A lease held this long or longer is a leak (`leak_threshold`).
    pub(super) leak_after: Option<u64>,
}

impl Limits {
    /// Whether a resource idle for `idle_ns` may be lent without a check.
    #[inline]
    pub(super) fn lendable(&self, idle_ns: u64) -> bool {
        self.lend_within.is_none_or(|l| idle_ns < l)
    }

    /// Whether a lease held `held_ns` is a leak.
    #[inline]
    pub(super) fn leaked(&self, held_ns: u64) -> bool {
        self.leak_after.is_some_and(|t| held_ns >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nanosecond reading agrees with the `Duration` rules it stands for, at and
    /// around every bound.
    #[test]
    fn limits_agree_with_the_rules_they_stand_for() {
        let ms = Duration::from_millis;
        let validations = [
            Validation::Never,
            Validation::Always,
            Validation::IdleLongerThan(Duration::ZERO),
            Validation::IdleLongerThan(ms(500)),
            Validation::IdleLongerThan(ms(2000)),
            Validation::IdleLongerThan(Duration::MAX),
        ];
        let idle_timeouts = [
            None,
            Some(ms(1)),
            Some(ms(500)),
            Some(ms(1000)),
            Some(Duration::MAX),
        ];
        let leaks = [None, Some(ms(1)), Some(ms(500)), Some(Duration::MAX)];
        let mut probes = vec![0, 1, u64::MAX - 1];
        for b in [1_000_000u64, 500_000_000, 1_000_000_000, 2_000_000_000] {
            probes.extend([b - 1, b, b + 1]);
        }
        for validation in validations {
            for idle_timeout in idle_timeouts {
                for leak_threshold in leaks {
                    let config = PoolConfig {
                        validation,
                        idle_timeout,
                        leak_threshold,
                        ..PoolConfig::default()
                    };
                    let limits = config.limits();
                    for &ns in &probes {
                        let d = Duration::from_nanos(ns);
                        let rules = !config.idle_too_long(d) && !validation.on_checkout(d);
                        assert_eq!(limits.lendable(ns), rules, "{config:?} idle {d:?}");
                        let leak = leak_threshold.is_some_and(|t| d >= t);
                        assert_eq!(limits.leaked(ns), leak, "{config:?} held {d:?}");
                    }
                }
            }
        }
    }
}
