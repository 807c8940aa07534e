//! `db_postgres/scenario=floor`: a pooled `SELECT 1` from one task beside the same query on
//! one raw `tokio_postgres::Client`, by the client's CPU time, both sides placed alike.

use std::cell::RefCell;
use std::time::Instant;

use serde_json::Value;
use tenure::pool::Pool;
use tokio_postgres::NoTls;

use super::{tenure_config, SELECT, SIZE};
use crate::harness::{median, round3, runs, Clock, Harness, Rep};

/// The scenario's name.
pub(super) const NAME: &str = "db_postgres/scenario=floor";

/// `db_postgres/scenario=floor`: what a pooled `SELECT 1` from one task costs the client
/// beside the same prepared `SELECT 1` on one raw `tokio_postgres::Client`.
///
/// # What is compared
///
/// The **client's CPU time per query**, not its wall time. On loopback a `SELECT 1` is a
/// round trip to the server, another process on the same two cores: its wall time is mostly
/// the server's work and the scheduler's wake-ups, while the pool's part is client work
/// alone. So both sides run on one current-thread tokio runtime of their own, driven by the
/// measuring thread: the querying task, every connection task and the pool's own work run
/// on that thread, and its CPU clock (`CLOCK_THREAD_CPUTIME_ID`, user and kernel time, the
/// socket calls included) counts what the client spends on a query. The two sides alternate
/// in short repetitions (A B A B, the harness's engine). tenure's pool is one of its own
/// with the rows' settings (8 connections, pre-warmed, `prepare_cached`); the raw client
/// prepared its statement once. Both connect to the same address (the fixture's
/// `127.0.0.1`, TCP, `TCP_NODELAY` as tokio-postgres always sets it).
///
/// # Placement: the measuring thread and the backends on one CPU
///
/// Even the client's CPU time per query depends on **where the server backend runs**
/// relative to the measuring thread, and the scheduler decides that per connection. Behind
/// one `SELECT 1` are two wake-ups (the client's send wakes its backend, the reply wakes the
/// client). With the backend on the client's CPU each is a plain context switch; with it on
/// the other CPU, idle in between, each is a cross-CPU wake-up — an inter-processor
/// interrupt, on a VM a trap to the hypervisor — that the waking thread pays for, and the
/// client's thread then also wakes from idle on its own CPU. Measured here (2-vCPU VM,
/// five sides alternating in one process — the pool of 8, a pool of 1, the raw client, the
/// raw client with the pool's connection settings, an unpooled `tenure_postgres::Client` —
/// client CPU / wall µs per query):
///
/// - unpinned, idle machine: the pool of 8 11.6 / 25, the pool of 1 11.6 / 26, the raw client
///   24.0 / 62, the raw client with the pool's settings 24.0 / 66, the unpooled
///   `tenure_postgres::Client` 16.4 / 40: the figure follows the connection's backend
///   placement, not the code (the raw client and the unpooled tenure client run the same
///   code path as the pool's connections, minus the pool; in the process before, under
///   load, the same five read 20.8, 17.7, 22.0, 24.2, 16.1). The earlier readings,
///   2.14–2.43 idle and 0.974 under load, were this: which side's backend happened to share
///   the client's CPU. Each side alone in its own process (20 000 queries) read 28–34 µs
///   CPU, 73–86 µs wall, every side alike.
/// - thread and backends pinned to one CPU: every side 10.8–12.5 / 22–26 (five processes;
///   raw / pooled 0.973–1.017);
/// - thread on one CPU, backends pinned to the other: every side 30–34 / 83–91 (two
///   processes; raw / pooled 0.980 and 0.978).
///
/// So the floor pins the measuring thread and the backend of every connection it uses (the
/// pool's 8 and the raw client's, found by `pg_backend_pid()`) to the first CPU the thread
/// may run on,
/// for the scenario's duration (the thread's affinity is restored after; the backends end
/// with their connections). That is the placement without cross-CPU wake-ups, the same for
/// both sides: what is left between them is the client's own work. It pins only a server
/// on this machine (a loopback or Unix-socket address, each backend's `/proc/PID/comm`
/// `postgres`) and only where the system lets it; otherwise the scenario runs unpinned and
/// says so (`pinned: false`: a figure to read with the caution above). The wall-clock
/// medians of the same repetitions are reported beside, for information (`wall_tenure_ns`,
/// `wall_floor_ns`, `wall_ratio`).
///
/// `--profile tenure|raw_client --ops N` runs one side alone, pinned alike, for callgrind
/// or `perf stat`.
pub(super) fn floor(h: &mut Harness, config: &tokio_postgres::Config) {
    let profiled = h.scenario_profiled(NAME);
    if !h.scenario_selected(NAME) && !profiled {
        return;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{NAME}: cannot build a tokio runtime, skipped: {e}");
            return;
        }
    };
    let (pool, raw, statement, backends) = rt.block_on(async {
        let pool = Pool::builder(tenure_postgres::Manager::new(config.clone()))
            .config(tenure_config())
            .build()
            .expect("tenure pool");
        let (client, connection) = config.connect(NoTls).await.expect("connect");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let statement = client.prepare(SELECT).await.expect("prepare");
        // Pre-warm the pool; every connection's backend, and the raw client's.
        let leases = futures_util::future::join_all((0..SIZE).map(|_| pool.get())).await;
        let mut backends = Vec::with_capacity(SIZE + 1);
        for lease in leases {
            let lease = lease.expect("tenure pre-warm");
            backends.push(backend_pid(lease.query_one(PID, &[]).await));
        }
        backends.push(backend_pid(client.query_one(PID, &[]).await));
        (pool, client, statement, backends)
    });
    let pinned = match pin::one_cpu(config, &backends) {
        Ok(pinned) => Some(pinned),
        Err(why) => {
            eprintln!("{NAME}: runs unpinned ({why}): its figure depends on where the scheduler puts each backend");
            None
        }
    };
    // Wall ns per query of every repetition, per side (calibration's included).
    let walls: [RefCell<Vec<f64>>; 2] = Default::default();
    let timed_rep = |side: usize, ops: u64, queries: &dyn Fn(u64)| {
        let (cpu, wall) = (Clock::ThreadCpu.now(), Instant::now());
        queries(ops);
        let elapsed = Clock::ThreadCpu.now().saturating_sub(cpu);
        walls[side]
            .borrow_mut()
            .push(wall.elapsed().as_nanos() as f64 / ops.max(1) as f64);
        Rep {
            ops,
            elapsed,
            ..Rep::default()
        }
    };
    let pooled = |ops| rt.block_on(pooled_queries(&pool, ops));
    let raw_side = |ops| rt.block_on(raw_queries(&raw, &statement, ops));
    let m = if profiled {
        // Untimed: no clock read (under valgrind rustix's vDSO set-up does not run).
        let untimed = |ops, queries: &dyn Fn(u64)| {
            queries(ops);
            Rep {
                ops,
                ..Rep::default()
            }
        };
        let mut sides = vec![
            runs(|ops| untimed(ops, &pooled)),
            runs(|ops| untimed(ops, &raw_side)),
        ];
        h.profile_scenario(NAME, &["tenure", "raw_client"], &mut sides);
        None
    } else {
        h.medians(
            NAME,
            vec![
                runs(|ops| timed_rep(0, ops, &pooled)),
                runs(|ops| timed_rep(1, ops, &raw_side)),
            ],
        )
    };
    let pinned_cpu = pinned.as_ref().map(|p| p.cpu);
    drop(pinned);
    {
        let _inside = rt.enter();
        drop((pool, raw));
    }
    let Some(m) = m else { return };
    let [wall_tenure, wall_floor] = walls.map(|w| median(&w.into_inner()));
    h.scenario(
        NAME,
        "raw_client",
        ("client CPU ns per SELECT 1 from one task", m[0], m[1]),
        vec![
            ("tenure_ns", Value::from(m[0].round())),
            ("floor_ns", Value::from(m[1].round())),
            ("ratio", Value::from(round3(m[1] / m[0]))),
            ("target", Value::from(0.97)),
            ("clock", Value::from("thread_cpu")),
            ("pinned", Value::from(pinned_cpu.is_some())),
            ("cpu", pinned_cpu.map_or(Value::Null, Value::from)),
            ("wall_tenure_ns", Value::from(wall_tenure.round())),
            ("wall_floor_ns", Value::from(wall_floor.round())),
            ("wall_ratio", Value::from(round3(wall_floor / wall_tenure))),
        ],
    );
}

/// The query that names a connection's server process.
const PID: &str = "SELECT pg_backend_pid()";

fn backend_pid<E: std::fmt::Debug>(row: Result<tokio_postgres::Row, E>) -> i32 {
    row.expect("SELECT pg_backend_pid()").get(0)
}

/// The floor's tenure side: `ops` pooled `SELECT 1`s, one after the other (a function of
/// its own, so a profiler tells the sides apart).
async fn pooled_queries(pool: &Pool<tenure_postgres::Manager>, ops: u64) {
    for _ in 0..ops {
        let c = pool.get().await.expect("tenure get");
        let s = c.prepare_cached(SELECT).await.expect("prepare");
        let one: i32 = c.query_one(&s, &[]).await.expect("query").get(0);
        std::hint::black_box(one);
    }
}

/// The floor itself: `ops` `SELECT 1`s on one raw client, its statement prepared once.
async fn raw_queries(
    raw: &tokio_postgres::Client,
    statement: &tokio_postgres::Statement,
    ops: u64,
) {
    for _ in 0..ops {
        let one: i32 = raw.query_one(statement, &[]).await.expect("query").get(0);
        std::hint::black_box(one);
    }
}

/// Pinning the measuring thread and the server's backends to one CPU.
mod pin {
    use tokio_postgres::config::Host;

    /// The measuring thread pinned to one CPU until this is dropped (its affinity before is
    /// restored then).
    pub(super) struct Pinned {
        #[cfg(target_os = "linux")]
        before: rustix::thread::CpuSet,
        /// The CPU the thread and the backends are on.
        pub(super) cpu: usize,
    }

    #[cfg(target_os = "linux")]
    impl Drop for Pinned {
        fn drop(&mut self) {
            let _ = rustix::thread::sched_setaffinity(None, &self.before);
        }
    }

    /// Whether `config` names a server on this machine (loopback or a Unix socket).
    fn local(config: &tokio_postgres::Config) -> bool {
        let hosts = config.get_hosts();
        !hosts.is_empty()
            && hosts.iter().all(|h| match h {
                Host::Unix(_) => true,
                Host::Tcp(name) => {
                    name == "localhost"
                        || name
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }
            })
    }

    /// Pins the calling thread to the first CPU it may run on, and every process of `backends` (the
    /// server's backends of the floor's connections) to the same CPU; `Err` says why not
    /// (nothing stays pinned then).
    #[cfg(target_os = "linux")]
    pub(super) fn one_cpu(
        config: &tokio_postgres::Config,
        backends: &[i32],
    ) -> Result<Pinned, String> {
        use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet, Pid};
        if !local(config) {
            return Err("the server is not on this machine".into());
        }
        for pid in backends {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim_end() != "postgres" {
                return Err(format!("backend {pid} is not a local postgres process"));
            }
        }
        let before = sched_getaffinity(None).map_err(|e| format!("sched_getaffinity: {e}"))?;
        // The first CPU the thread may run on (not `sched_getcpu`: its vDSO set-up does not
        // run under valgrind).
        let cpu = (0..CpuSet::MAX_CPU)
            .find(|&c| before.is_set(c))
            .ok_or("the thread may run on no CPU")?;
        let mut one = CpuSet::new();
        one.set(cpu);
        sched_setaffinity(None, &one).map_err(|e| format!("pinning the thread: {e}"))?;
        let pinned = Pinned { before, cpu };
        for &pid in backends {
            let Some(p) = Pid::from_raw(pid) else {
                return Err(format!("backend pid {pid}"));
            };
            sched_setaffinity(Some(p), &one)
                .map_err(|e| format!("pinning backend {pid} to CPU {cpu}: {e}"))?;
        }
        Ok(pinned)
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn one_cpu(
        config: &tokio_postgres::Config,
        _backends: &[i32],
    ) -> Result<Pinned, String> {
        let _ = local(config);
        Err("CPU affinity is set on Linux only".into())
    }
}
