//! [`Lease`]: a pooled resource lent out; it goes back on drop.

use crate::sync::Arc;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use super::anchor::Anchor;
use super::manager::Manager;
use super::shard::{Conn, LeaseAt, Lent};
use super::state::{Route, Shared};
use super::stats::Retire;
use super::work::step;

/// A resource lent by a [`Pool`](super::Pool). Derefs to the resource; goes back to the
/// pool when dropped — synchronously, no task spawned — unless the manager says it needs a
/// reset first (then the pool runs that, bounded by `return_timeout`) or it is broken,
/// expired, or its thread is panicking (then it is retired and closed).
///
/// `'static`: it holds the pool, so it can move into spawned tasks. Its own operations are
/// associated functions ([`Lease::detach`], [`Lease::discard`]) so they never shadow the
/// resource's methods.
///
/// ```
/// # use tenure::pool::{from_fn, Pool, PoolConfig};
/// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
/// let pool = Pool::new(manager, PoolConfig::default())?;
/// let lease = pool.get_blocking()?;
/// let () = *lease; // the resource
/// drop(lease);     // returned
/// assert_eq!(pool.status().idle, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Lease<M: Manager> {
    /// The pool's engine, through the anchor of the thread that acquired it.
    anchor: Arc<Anchor<M>>,
    conn: Option<Lent<M::Resource>>,
    /// The shard it was lent from, and its entry in that shard's table of leases out (the
    /// leak detector's, which also keeps where it was taken: its site).
    at: LeaseAt,
}

impl<M: Manager> Lease<M> {
    pub(super) fn new(anchor: Arc<Anchor<M>>, conn: Conn<M::Resource>, at: LeaseAt) -> Self {
        Lease {
            anchor,
            conn: Some(conn.lend()),
            at,
        }
    }

    /// The pool's engine (an associated function, as the public ones are: no method of
    /// the resource is shadowed).
    #[inline]
    fn shared(this: &Self) -> &Arc<Shared<M>> {
        &this.anchor.shared
    }

    /// Takes the resource out of the pool for good: its slot is freed (a new one may be
    /// created in its place) and the caller owns and releases it.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// let () = tenure::pool::Lease::detach(pool.get_blocking()?);
    /// assert_eq!(pool.status().size, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detach(mut this: Self) -> M::Resource {
        let conn = this
            .conn
            .take()
            .expect("a lease holds its resource until consumed");
        step(Lease::shared(&this), |s, after| s.detach(this.at, after));
        conn.resource
    }

    /// Retires the resource instead of returning it (it is closed by the pool).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// tenure::pool::Lease::discard(pool.get_blocking()?);
    /// assert_eq!(pool.statistics().destroyed.discarded, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn discard(mut this: Self) {
        this.give_back(Some(Retire::Discarded));
    }

    /// Where the lease was acquired (the caller of `get`).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// let lease = pool.get_blocking()?;
    /// assert!(tenure::pool::Lease::site(&lease).file().ends_with(".rs"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn site(this: &Self) -> &'static Location<'static> {
        Lease::shared(this).site_of(this.at)
    }

    /// Returns the resource (if it still holds it): into its shard in the steady state,
    /// else routed by the pool's state (see `Shared::judge_return`). The resource moves
    /// once, from the lease to where it goes.
    #[inline]
    fn give_back(&mut self, retire: Option<Retire>) {
        let shared = &self.anchor.shared;
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let now = shared.now();
        let route = shared.judge_return(conn, retire, now);
        // The steady state: back into its shard.
        if route == Route::Keep && shared.try_take_back(self.at, &mut self.conn, now) {
            return;
        }
        self.give_back_slowly(route, now);
    }

    #[inline(never)]
    fn give_back_slowly(&mut self, route: Route, now: super::time::Instant) {
        let conn = self
            .conn
            .take()
            .expect("a lease holds its resource until consumed")
            .back(now);
        step(&self.anchor.shared, |s, after| {
            s.route_return(self.at, conn, route, now, after)
        });
    }
}

impl<M: Manager> Deref for Lease<M> {
    type Target = M::Resource;
    fn deref(&self) -> &M::Resource {
        &self
            .conn
            .as_ref()
            .expect("a lease holds its resource until consumed")
            .resource
    }
}

impl<M: Manager> DerefMut for Lease<M> {
    fn deref_mut(&mut self) -> &mut M::Resource {
        &mut self
            .conn
            .as_mut()
            .expect("a lease holds its resource until consumed")
            .resource
    }
}

impl<M: Manager> Drop for Lease<M> {
    fn drop(&mut self) {
        self.give_back(None);
    }
}

impl<M: Manager> fmt::Debug for Lease<M>
where
    M::Resource: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("resource", &self.conn.as_ref().map(|c| &c.resource))
            .field("site", &Lease::site(self))
            .finish()
    }
}
