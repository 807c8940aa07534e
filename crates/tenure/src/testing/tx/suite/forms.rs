//! The suite's two [`Form`]s: [`Blocking`] over a [`Harness`], [`Async`] over an
//! [`AsyncHarness`]. Each runs the cases' [`Body`]s in its own kind of closure; the rest is
//! one call per step.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use super::cases::{inner_rolled_back, Body, BodyError, Cancel, Form, How, Ran};
use super::{AsyncHarness, ErrorOf, Harness, Lent, Refused};
use crate::pool::{Lease, Pool};
use crate::testing::tx::CancelAfter;
use crate::tx::run_async::catch_unwind as catch_unwind_async;
use crate::tx::{
    transaction, transaction_async, AsyncTransactional, Mode, Session, Transactional, Tx, TxError,
};

/// Runs a future of the blocking form: its steps never wait, so it is ready at once.
pub(super) fn block_on<F: Future>(fut: F) -> F::Output {
    match pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("a step of the blocking form waited"),
    }
}

/// The blocking form.
pub(super) struct Blocking<'h, H> {
    h: &'h H,
    unprovoked: AtomicBool,
}

/// The async form.
pub(super) struct Async<'h, H> {
    h: &'h H,
    unprovoked: AtomicBool,
}

impl<'h, H> Blocking<'h, H> {
    pub(super) fn new(h: &'h H) -> Self {
        Blocking {
            h,
            unprovoked: AtomicBool::new(false),
        }
    }
}

impl<'h, H> Async<'h, H> {
    pub(super) fn new(h: &'h H) -> Self {
        Async {
            h,
            unprovoked: AtomicBool::new(false),
        }
    }
}

type Failed<C> = BodyError<ErrorOf<C>>;

impl<H: Harness> Blocking<'_, H> {
    fn insert(&self, conn: &mut H::Conn, value: i64) -> Result<(), Failed<H::Conn>> {
        self.h.insert(conn, value).map_err(BodyError::Adapter)
    }

    fn body(&self, tx: &mut Tx<'_, H::Conn>, body: Body) -> Result<u32, Failed<H::Conn>> {
        let attempt = Tx::attempt(tx);
        match body {
            Body::Two => {
                self.insert(tx, 1)?;
                self.insert(tx, 2)?;
            }
            Body::One => self.insert(tx, 1)?,
            Body::Refuse => {
                self.insert(tx, 1)?;
                return Err(Refused.into());
            }
            Body::Panic => {
                self.insert(tx, 1)?;
                panic!("conformance panic");
            }
            Body::Savepoints => {
                self.insert(tx, 1)?;
                let outer = tx.state();
                let inner = transaction(tx, |inner| {
                    self.insert(inner, 2)?;
                    Err::<(), _>(Failed::<H::Conn>::from(Refused))
                });
                inner_rolled_back(inner.is_err(), outer, tx.state());
                let _ = transaction(tx, |inner| {
                    self.insert(inner, 3)?;
                    let _ = transaction(inner, |deepest| self.insert(deepest, 4));
                    Ok::<_, Failed<H::Conn>>(())
                });
                self.insert(tx, 5)?;
            }
            Body::ConflictFirst => {
                if attempt == 1 {
                    match self.h.conflict(tx) {
                        Some(e) => return Err(BodyError::Adapter(e)),
                        None => self.unprovoked.store(true, Ordering::Relaxed),
                    }
                }
                self.insert(tx, 1)?;
            }
            Body::ConflictAlways => {
                if let Some(e) = self.h.conflict(tx) {
                    return Err(BodyError::Adapter(e));
                }
            }
        }
        Ok(attempt)
    }
}

impl<H: Harness> Form for Blocking<'_, H> {
    type Conn = H::Conn;
    type Manager = H::Manager;
    type Lent = Lease<H::Manager>;

    fn conn(lent: &mut Lease<H::Manager>) -> &mut H::Conn {
        lent
    }
    async fn connect(&self) -> H::Conn {
        self.h.connect()
    }
    async fn count(&self) -> usize {
        self.h.count()
    }
    async fn run(&self, conn: &mut H::Conn, how: How, body: Body) -> Ran<H::Conn> {
        catch_unwind(AssertUnwindSafe(|| {
            let run = |tx: &mut Tx<'_, H::Conn>| self.body(tx, body);
            match how {
                None => transaction(conn, run),
                Some(options) => options.run(conn, run),
            }
        }))
    }
    async fn leave_open(&self, c: &mut H::Conn, mode: Mode, savepoint: bool, write: bool) -> bool {
        Transactional::begin(c, mode).is_ok()
            && (!savepoint || c.savepoint("conformance").is_ok())
            && (!write || self.h.insert(c, 1).is_ok())
    }
    async fn rollback(&self, conn: &mut H::Conn) -> bool {
        Transactional::rollback(conn).is_ok()
    }
    fn lose_next_commit_reply(&self, conn: &mut H::Conn) -> bool {
        self.h.lose_next_commit_reply(conn)
    }
    fn pool(&self) -> Pool<H::Manager> {
        self.h.pool()
    }
    async fn lend(&self, pool: &Pool<H::Manager>) -> Lease<H::Manager> {
        pool.get_blocking().expect("a lease")
    }
    fn unprovoked(&self) -> bool {
        self.unprovoked.swap(false, Ordering::Relaxed)
    }
}

impl<H: AsyncHarness> Async<'_, H> {
    async fn insert(&self, conn: &mut H::Conn, value: i64) -> Result<(), Failed<H::Conn>> {
        self.h.insert(conn, value).await.map_err(BodyError::Adapter)
    }

    async fn body(&self, tx: &mut Tx<'_, H::Conn>, body: Body) -> Result<u32, Failed<H::Conn>> {
        let attempt = Tx::attempt(tx);
        match body {
            Body::Two => {
                self.insert(tx, 1).await?;
                self.insert(tx, 2).await?;
            }
            Body::One => self.insert(tx, 1).await?,
            Body::Refuse => {
                self.insert(tx, 1).await?;
                return Err(Refused.into());
            }
            Body::Panic => {
                self.insert(tx, 1).await?;
                panic!("conformance panic");
            }
            Body::Savepoints => {
                self.insert(tx, 1).await?;
                let outer = tx.state();
                let inner = transaction_async(tx, async |inner| {
                    self.insert(inner, 2).await?;
                    Err::<(), _>(Failed::<H::Conn>::from(Refused))
                })
                .await;
                inner_rolled_back(inner.is_err(), outer, tx.state());
                let _ = transaction_async(tx, async |inner| {
                    self.insert(inner, 3).await?;
                    let _ = transaction_async(inner, async |deepest| self.insert(deepest, 4).await)
                        .await;
                    Ok::<_, Failed<H::Conn>>(())
                })
                .await;
                self.insert(tx, 5).await?;
            }
            Body::ConflictFirst => {
                if attempt == 1 {
                    match self.h.conflict(tx).await {
                        Some(e) => return Err(BodyError::Adapter(e)),
                        None => self.unprovoked.store(true, Ordering::Relaxed),
                    }
                }
                self.insert(tx, 1).await?;
            }
            Body::ConflictAlways => {
                if let Some(e) = self.h.conflict(tx).await {
                    return Err(BodyError::Adapter(e));
                }
            }
        }
        Ok(attempt)
    }
}

impl<H: AsyncHarness> Form for Async<'_, H> {
    type Conn = H::Conn;
    type Manager = H::Manager;
    type Lent = H::Lent;

    fn conn(lent: &mut H::Lent) -> &mut H::Conn {
        lent.conn()
    }
    async fn connect(&self) -> H::Conn {
        self.h.connect().await
    }
    async fn count(&self) -> usize {
        self.h.count().await
    }
    async fn run(&self, conn: &mut H::Conn, how: How, body: Body) -> Ran<H::Conn> {
        catch_unwind_async(async move {
            match how {
                None => transaction_async(conn, async |tx| self.body(tx, body).await).await,
                Some(options) => {
                    options
                        .run_async(conn, async |tx| self.body(tx, body).await)
                        .await
                }
            }
        })
        .await
    }
    async fn leave_open(&self, c: &mut H::Conn, mode: Mode, savepoint: bool, write: bool) -> bool {
        AsyncTransactional::begin(c, mode).await.is_ok()
            && (!savepoint || c.savepoint("conformance").await.is_ok())
            && (!write || self.h.insert(c, 1).await.is_ok())
    }
    async fn rollback(&self, conn: &mut H::Conn) -> bool {
        AsyncTransactional::rollback(conn).await.is_ok()
    }
    fn lose_next_commit_reply(&self, conn: &mut H::Conn) -> bool {
        self.h.lose_next_commit_reply(conn)
    }
    fn pool(&self) -> Pool<H::Manager> {
        self.h.pool()
    }
    async fn lend(&self, pool: &Pool<H::Manager>) -> H::Lent {
        H::lend(pool.get().await.expect("a lease"))
    }
    fn unprovoked(&self) -> bool {
        self.unprovoked.swap(false, Ordering::Relaxed)
    }
}

impl<H: AsyncHarness> Cancel for Async<'_, H> {
    async fn run_dropped(
        &self,
        conn: &mut H::Conn,
        k: usize,
    ) -> Option<Result<u32, TxError<Failed<H::Conn>, ErrorOf<H::Conn>>>> {
        let body = transaction_async(conn, async |tx| self.body(tx, Body::Two).await);
        CancelAfter::new(body, k).await
    }
}
