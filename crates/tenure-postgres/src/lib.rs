//! PostgreSQL for tenure: pooled connections, blocking ([`BlockingClient`] on the `postgres`
//! crate) and async ([`Client`] on `tokio-postgres`), that `tenure::pool` lends and
//! `tenure::tx` runs transactions on.
//!
//! Each client records what a pool needs to know when it comes back — the transaction
//! state (`Unknown` from the moment a control statement is sent until its reply), a query
//! abandoned mid-flight, an error that showed the connection dead — so a connection is
//! never lent inside a transaction, with a query of the last holder's still running, or
//! dead. The [`Manager`] (async) resets such a connection while the pool holds its slot;
//! the [`BlockingManager`] retires it.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tenure::pool::Pool;
//! use tenure::tx::{transaction_async, Options};
//!
//! let config: tokio_postgres::Config = "host=localhost user=postgres".parse()?;
//! let pool = Pool::builder(tenure_postgres::Manager::new(config)).build()?;
//! let mut client = pool.get().await?;
//! client.batch_execute("CREATE TABLE IF NOT EXISTS t (x int)").await?;
//! transaction_async(&mut *client, async |tx| {
//!     tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
//!     Ok::<_, tenure_postgres::Error>(())
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! Passwords never show: [`Error`]s name the server as `user@host:port/dbname`, and the
//! managers' `Debug` prints the same.
//!
//! Feature `testing`: [`testing`], a throwaway PostgreSQL cluster for tests.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod blocking;
mod cache;
mod cancel;
mod client;
mod error;
mod manager;
mod track;
mod tx;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use blocking::BlockingClient;
pub use cancel::CancelStream;
pub use client::Client;
pub use error::{classify, is_dead, Error, Operation};
pub use manager::{BlockingManager, Manager, Reset, Tls};
pub use track::AsStatement;
