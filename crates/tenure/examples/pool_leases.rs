//! The seed's pattern 2 (an async connection pool: min/max size, acquire, execute, close on
//! exit) on real resources with no set-up: TCP connections to an echo server on loopback
//! that the example starts itself.
//!
//! It opens a pool, does work through leases from async tasks and from a blocking thread,
//! holds one lease too long (the leak report names the line that acquired it), shows a
//! timeout and a create failure with their causes, prints the status and statistics, and
//! closes the pool on exit — every connection closed, as the server counts.
//!
//! ```text
//! cargo run -p tenure --example pool_leases
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use tenure::error::{BoxError, Report};
use tenure::pool::{Manager, Pool, PoolConfig, Validation, Work};

/// Connections to the echo server at `addr`.
struct Echo {
    addr: SocketAddr,
}

impl Manager for Echo {
    type Resource = BufReader<TcpStream>;
    type Error = std::io::Error;
    const ASYNC: bool = true;

    fn create(&self) -> Work<Result<Self::Resource, std::io::Error>> {
        let addr = self.addr;
        Work::future(async move { Ok(BufReader::new(TcpStream::connect(addr).await?)) })
    }

    /// A round trip proves the connection is alive (run on checkout after 500 ms idle).
    fn validate(&self, mut conn: Self::Resource) -> tenure::pool::Checked<Self> {
        Work::future(async move {
            let verdict = round_trip(&mut conn, "ping").await.map(drop);
            (conn, verdict)
        })
    }

    /// A clean shutdown: the server sees end-of-file.
    fn close(&self, mut conn: Self::Resource) -> Work<Result<(), BoxError>> {
        Work::future(async move { Ok(conn.get_mut().shutdown().await?) })
    }
}

/// Sends `line`, reads the echo.
async fn round_trip(conn: &mut BufReader<TcpStream>, line: &str) -> std::io::Result<String> {
    conn.get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .await?;
    let mut echo = String::new();
    conn.read_line(&mut echo).await?;
    Ok(echo.trim_end().to_owned())
}

/// An echo server; counts the connections it accepted and the ones that ended.
async fn echo_server() -> std::io::Result<(SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (opened, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (o, e) = (opened.clone(), ended.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            o.fetch_add(1, Ordering::SeqCst);
            let e = e.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if write
                        .write_all(format!("{line}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                e.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Ok((addr, opened, ended))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // The pool reports leaks through `tracing` (its default report sink).
    tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .init();

    let (addr, opened, ended) = echo_server().await?;
    println!("echo server on {addr}");

    let config = PoolConfig {
        name: "echo".into(),
        max_size: 3,
        min_idle: 1,
        acquire_timeout: Duration::from_secs(5),
        validation: Validation::IdleLongerThan(Duration::from_millis(500)),
        leak_threshold: Some(Duration::from_millis(300)),
        maintenance_interval: Some(Duration::from_millis(50)),
        ..PoolConfig::default()
    };
    let pool = Pool::new(Echo { addr }, config)?;

    // Work from async tasks: eight requests share three connections.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut conn = pool.get().await?;
                let echo = round_trip(&mut conn, &format!("request {i}")).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(echo)
            })
        })
        .collect();
    for task in tasks {
        println!("task got {:?}", task.await??);
    }

    // Work from a blocking thread, through the same pool and queue.
    let echo = {
        let pool = pool.clone();
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_blocking()?;
            let echo = rt.block_on(round_trip(&mut conn, "from a thread"))?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(echo)
        })
        .await??
    };
    println!("thread got {echo:?}");

    // One lease held too long: the pool reports it while held (with this line) and again
    // when it comes back.
    {
        let _forgotten = pool.get().await?;
        tokio::time::sleep(Duration::from_millis(450)).await;
    }

    // A timeout explains itself: how long, and who holds what.
    let held: Vec<_> = futures::future::try_join_all((0..3).map(|_| pool.get())).await?;
    let timeout = pool
        .get_timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    println!("timeout: {}", Report::new(&timeout));
    drop(held);

    // A backend that is down: a typed error with the cause, at once.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()? // closed again when `listener` drops: nothing listens
    };
    let dead = Pool::new(Echo { addr: down }, PoolConfig::default())?;
    let refused = dead.get().await.unwrap_err();
    println!("backend down: {}", Report::new(&refused));
    dead.close().await;

    let status = pool.status();
    let stats = pool.statistics();
    println!(
        "status: {status} (size {}, idle {})",
        status.size, status.idle
    );
    println!(
        "statistics: {} acquired ({} at once, {} after waiting), {} timed out, {} created, {} leak(s)",
        stats.acquired_direct + stats.acquired_waited,
        stats.acquired_direct,
        stats.acquired_waited,
        stats.timeouts,
        stats.created,
        stats.leaks,
    );
    println!(
        "hold time p50 {:?} p99 {:?}; wait time p50 {:?} p99 {:?}",
        stats.hold_time.p50(),
        stats.hold_time.p99(),
        stats.wait_time.p50(),
        stats.wait_time.p99(),
    );

    // Close on exit: every connection is shut down through the manager.
    pool.close().await;
    let created = pool.statistics().created as usize;
    // The server counts a connection as ended once it reads the end-of-file.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ended.load(Ordering::SeqCst) < created && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (opened, ended) = (opened.load(Ordering::SeqCst), ended.load(Ordering::SeqCst));
    println!(
        "pool closed: {created} connections created, server saw {opened} opened and {ended} closed"
    );
    assert_eq!(
        (opened, ended),
        (created, created),
        "every connection was closed"
    );
    Ok(())
}
