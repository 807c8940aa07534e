//! Seed pattern 9, async: a dynamic number of async connections with `AsyncExitStack`.
//!
//! Connects to several hosts inside an `async_scope`. The third connection fails: the two
//! already open are closed (last first, each close awaited) before the error comes back.
//! Then all hosts are reachable: every connection is used, and at the end one of them fails
//! to close — the others are still closed, and the close error is returned beside the data.
//!
//! Run: `cargo run -p tenure --example async_exit_stack`

use std::time::Duration;

use tenure::{AsyncClose, AsyncExitStack, ScopeError};

/// A pretend network connection whose close is async (it sends a goodbye and waits).
struct Conn {
    host: &'static str,
    close_fails: bool,
}

async fn connect(host: &'static str, reachable: bool) -> std::io::Result<Conn> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if !reachable {
        println!("  connect {host}: refused");
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            format!("{host}: connection refused"),
        ));
    }
    println!("  connect {host}: ok");
    Ok(Conn {
        host,
        close_fails: false,
    })
}

impl Conn {
    async fn fetch(&self) -> String {
        tokio::time::sleep(Duration::from_millis(5)).await;
        format!("{} rows from {}", self.host.len(), self.host)
    }
}

impl AsyncClose for Conn {
    type Error = std::io::Error;
    async fn close(self) -> std::io::Result<()> {
        tokio::time::sleep(Duration::from_millis(5)).await; // goodbye round trip
        if self.close_fails {
            println!("  close {}: failed", self.host);
            return Err(std::io::Error::other(format!(
                "{}: reset during goodbye",
                self.host
            )));
        }
        println!("  close {}: ok", self.host);
        Ok(())
    }
}

/// Python's `process_connections`: open every host, fetch from each, close all.
async fn process_connections(
    hosts: &[(&'static str, bool)],
    failing_close: Option<&str>,
) -> Result<Vec<String>, ScopeError<std::io::Error>> {
    AsyncExitStack::scope(async |stack| {
        let mut conns = Vec::new();
        for &(host, reachable) in hosts {
            let mut conn = connect(host, reachable).await?; // a failure closes the open ones
            conn.close_fails = failing_close == Some(host);
            conns.push(stack.named(host).enter(conn));
        }
        let mut results = Vec::new();
        for c in &conns {
            results.push(stack[*c].fetch().await);
        }
        Ok(results)
    })
    .await
}

#[tokio::main]
async fn main() {
    println!("1. db-3 refuses the connection:");
    let hosts = [
        ("db-1", true),
        ("db-2", true),
        ("db-3", false),
        ("db-4", true),
    ];
    match process_connections(&hosts, None).await {
        Ok(r) => println!("  unexpected success: {r:?}"),
        Err(e) => println!("  => error: {e}  (db-2 and db-1 were closed, last first)"),
    }

    println!("\n2. every host answers, db-2 fails to close:");
    let hosts = [("db-1", true), ("db-2", true), ("db-3", true)];
    match process_connections(&hosts, Some("db-2")).await {
        Ok(r) => println!("  => {r:?}"),
        Err(ScopeError::Cleanup(e)) => {
            println!("  => the work succeeded but cleanup failed: {e}");
            for (i, err) in e.iter().enumerate() {
                println!("     cleanup error {}: {err}", i + 1);
            }
        }
        Err(e) => println!("  => error: {e}"),
    }

    println!("\n3. every host answers, every close succeeds:");
    match process_connections(&hosts, None).await {
        Ok(r) => println!("  => {r:?}"),
        Err(e) => println!("  => error: {e}"),
    }
}
