//! A request handler holding a resource is cancelled by a timeout; its async cleanup still
//! runs, after the cancellation, as a task on the runtime.
//!
//! The handler checks out a database connection and opens a transaction (both with async
//! release), then calls a slow service. The server gives the request 100 ms: the handler's
//! future is dropped mid-await. Rust has no async drop, so without tenure the rollback and
//! the connection's return would never run. Here the pending cleanup is handed to the
//! runtime (bounded by a 2 s deadline), runs last-first with `Outcome::Cancelled`, and
//! `tenure::orphan::orphans().join()` waits for it before the program exits.
//!
//! Run: `cargo run -p tenure --example cancelled_request`

use std::time::{Duration, Instant};

use tenure::{AsyncClose, AsyncExitStack, Exit, Outcome, ScopeError};

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn log(msg: impl std::fmt::Display) {
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    println!("[{ms:>4} ms] {msg}");
}

struct PooledConn(u32);

impl AsyncClose for PooledConn {
    type Error = std::io::Error;
    async fn close(self) -> std::io::Result<()> {
        tokio::time::sleep(Duration::from_millis(20)).await; // reset the session
        log(format!(
            "cleanup: connection #{} returned to the pool",
            self.0
        ));
        Ok(())
    }
}

async fn handle_request(user: &'static str) -> Result<String, ScopeError<std::io::Error>> {
    let mut stack = AsyncExitStack::new().with_deadline(Duration::from_secs(2));
    stack
        .run(async |s| {
            tokio::time::sleep(Duration::from_millis(10)).await; // pool checkout
            let conn = s.named("db connection").enter(PooledConn(7));
            log(format!("handler: checked out connection #{}", s[conn].0));

            log("handler: BEGIN");
            s.try_push_async_exit(|outcome: &Outcome<'_>| {
                let commit = outcome.is_success();
                let why = outcome.to_string();
                async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if commit {
                        log("cleanup: COMMIT");
                    } else {
                        log(format!("cleanup: ROLLBACK (scope ended: {why})"));
                    }
                    Ok::<_, std::io::Error>(Exit::Propagate)
                }
            });

            log(format!(
                "handler: calling the slow profile service for {user}..."
            ));
            tokio::time::sleep(Duration::from_secs(5)).await;
            log("handler: never printed: the request was cancelled");
            Ok(format!("profile of {user}"))
        })
        .await
}

#[tokio::main]
async fn main() {
    log("server: request received, 100 ms budget");
    match tokio::time::timeout(Duration::from_millis(100), handle_request("ada")).await {
        Ok(r) => log(format!("server: handler finished: {r:?}")),
        Err(_) => log("server: request timed out; handler future dropped -> 504"),
    }
    log(format!(
        "server: orphaned cleanups in flight: {}",
        tenure::orphan::orphans().pending()
    ));

    tenure::orphan::orphans().join().await; // before exiting, let every cleanup finish
    let stats = tenure::orphan::orphans().stats();
    log(format!(
        "server: shutdown; orphaned cleanups: {} batch, {} succeeded, {} failed, {} timed out",
        stats.batches, stats.succeeded, stats.failed, stats.timed_out
    ));
}
