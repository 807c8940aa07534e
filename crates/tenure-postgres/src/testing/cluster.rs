//! [`Cluster`]: a throwaway PostgreSQL cluster in a temp dir, made with `initdb`, run with
//! `pg_ctl`, and removed however the process that made it ends.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::FixtureError;

/// The password-protected role every cluster has (for the wrong-password tests); every other
/// connection is trusted.
pub const PASSWORD_ROLE: &str = "tenure_pw";

/// A PostgreSQL cluster of its own: a data directory in a temp dir, a Unix socket beside it
/// and a free loopback port, trust authentication except for one password-protected role
/// ([`PASSWORD_ROLE`]). When the process is root, the server runs as the `postgres` user
/// (through `runuser`), the directory handed to it.
///
/// Cleanup does not depend on `Drop`: a watcher process, started before `initdb`, waits on
/// a pipe whose other end only this process holds; when that end closes — this value
/// dropped, or the process exiting, panicking, aborting or killed — the watcher stops the
/// server and removes the directory. Dropping the value waits for the watcher.
///
/// Most tests want [`database`](super::database) (one shared cluster per test binary, a
/// database per test); a test that stops and starts the server owns a cluster:
///
/// ```no_run
/// let cluster = tenure_postgres::testing::Cluster::start()?;
/// cluster.stop()?;
/// cluster.start_again()?;
/// drop(cluster); // server stopped, directory removed
/// # Ok::<(), tenure_postgres::testing::FixtureError>(())
/// ```
pub struct Cluster {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
    password: String,
    as_postgres: bool,
    // Closing this ends the watcher, which stops the server and removes `dir`.
    watcher: Mutex<Option<(Child, ChildStdin)>>,
}

impl Cluster {
    /// Makes and starts a cluster: finds `initdb` (see [`find_bindir`]), runs it in a new
    /// temp dir, starts the server on a free loopback port and creates the password role.
    ///
    /// ```no_run
    /// let cluster = tenure_postgres::testing::Cluster::start()?;
    /// assert!(cluster.port() > 0);
    /// # Ok::<(), tenure_postgres::testing::FixtureError>(())
    /// ```
    pub fn start() -> Result<Cluster, FixtureError> {
        let bindir = find_bindir().ok_or(FixtureError::NoInitdb)?;
        let temp = tempfile::Builder::new()
            .prefix("tenure-pg-")
            .tempdir()
            .map_err(|e| FixtureError::io("creating the cluster's temp dir", e))?;
        // The temp dir belongs to whoever this process runs as: uid 0 means root, and the
        // server refuses to run as root.
        let meta = fs::metadata(temp.path())
            .map_err(|e| FixtureError::io("reading the temp dir's owner", e))?;
        let as_postgres = meta.uid() == 0;
        let dir = temp.keep();
        let mut cluster = Cluster {
            bindir,
            dir: dir.clone(),
            port: 0,
            password: random_password(),
            as_postgres,
            watcher: Mutex::new(None),
        };
        // From here on the watcher owns the directory's removal, on every path.
        let watcher = spawn_watcher(&cluster)?;
        *cluster.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(watcher);
        if as_postgres {
            cluster.run(
                "handing the temp dir to the postgres user",
                Command::new("chown")
                    .arg("-R")
                    .arg("postgres:postgres")
                    .arg(&dir),
            )?;
        }
        let pwfile = dir.join("pw");
        cluster.write_file(&pwfile, &cluster.password)?;
        cluster.run(
            "initdb",
            cluster
                .command("initdb")
                .arg("-D")
                .arg(cluster.data())
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .arg("--locale=C"),
        )?;
        // Trust everyone except the password role, over the socket and loopback alike.
        let hba = format!(
            "local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n\
             host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n\
             host all {PASSWORD_ROLE} ::1/128 scram-sha-256\nhost all all ::1/128 trust\n"
        );
        cluster.write_file(&cluster.data().join("pg_hba.conf"), &hba)?;
        // A port is free when we look; another process may take it before the server
        // binds, so try a few.
        let mut last = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        super::admin(
            &cluster.config("postgres"),
            &format!(
                "CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{}'",
                cluster.password
            ),
        )?;
        Ok(cluster)
    }

    /// The loopback port the server listens on.
    ///
    /// ```no_run
    /// # let cluster = tenure_postgres::testing::Cluster::start()?;
    /// println!("listening on 127.0.0.1:{}", cluster.port());
    /// # Ok::<(), tenure_postgres::testing::FixtureError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temp dir holding the data directory and the Unix socket; gone once the cluster
    /// is.
    ///
    /// ```no_run
    /// # let cluster = tenure_postgres::testing::Cluster::start()?;
    /// assert!(cluster.dir().join("data").is_dir());
    /// # Ok::<(), tenure_postgres::testing::FixtureError>(())
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A trusted connection to database `dbname` as the superuser `postgres`, over TCP.
    ///
    /// ```no_run
    /// # let cluster = tenure_postgres::testing::Cluster::start()?;
    /// let config = cluster.config("postgres");
    /// assert_eq!(config.get_user(), Some("postgres"));
    /// # Ok::<(), tenure_postgres::testing::FixtureError>(())
    /// ```
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname(dbname)
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// The password of [`PASSWORD_ROLE`], the one role the server asks a password of.
    ///
    /// ```no_run
    /// # let cluster = tenure_postgres::testing::Cluster::start()?;
    /// assert!(!cluster.password().is_empty());
    /// # Ok::<(), tenure_postgres::testing::FixtureError>(())
    /// ```
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Stops the server (fast shutdown: sessions are ended, nothing committed is lost).
    ///
    /// ```no_run
    /// # let cluster = tenure_postgres::testing::Cluster::start()?;
    /// cluster.stop()?;
    /// # Ok::<(), tenure_postgres::testing::FixtureError>(())
    /// ```
    pub fn stop(&self) -> Result<(), FixtureError> {
        self.run(
            "pg_ctl stop",
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w", "stop"]),
        )
    }

    /// Starts the server again after [`stop`](Cluster::stop), on the same port.
    ///
    /// ```no_run
    /// # let cluster = tenure_postgres::testing::Cluster::start()?;
    /// cluster.stop()?;
    /// cluster.start_again()?;
    /// # Ok::<(), tenure_postgres::testing::FixtureError>(())
    /// ```
    pub fn start_again(&self) -> Result<(), FixtureError> {
        self.pg_ctl_start()
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl_start(&self) -> Result<(), FixtureError> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
             -c autovacuum=off",
            self.port,
            self.dir.display()
        );
        self.run(
            "pg_ctl start",
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-o", &options, "-w", "-t", "60", "start"]),
        )
    }

    /// A command for one of the server's programs, as the `postgres` user when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, what: &'static str, command: &mut Command) -> Result<(), FixtureError> {
        let out = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| FixtureError::io(what, e))?;
        if out.status.success() {
            return Ok(());
        }
        let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stdout));
        if let Ok(log) = fs::read_to_string(self.dir.join("server.log")) {
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            output.push_str("\nserver log (last lines):\n");
            output.extend(tail.into_iter().rev().map(|l| format!("{l}\n")));
        }
        Err(FixtureError::Command {
            what,
            status: out.status.to_string(),
            output: output.replace(&self.password, "<redacted>"),
        })
    }

    fn write_file(&self, path: &Path, contents: &str) -> Result<(), FixtureError> {
        fs::write(path, contents).map_err(|e| FixtureError::io("writing a cluster file", e))?;
        if self.as_postgres {
            self.run(
                "handing a cluster file to the postgres user",
                Command::new("chown").arg("postgres:postgres").arg(path),
            )?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let watcher = self.watcher.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some((mut child, stdin)) = watcher.take() {
            drop(stdin); // the watcher stops the server and removes the directory
            let _ = child.wait();
        }
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where `initdb` and `pg_ctl` are: `TENURE_PG_BINDIR` if set, else the directory of an
/// `initdb` on `PATH`, else the newest `/usr/lib/postgresql/*/bin` (Debian's server package
/// puts no `initdb` on `PATH`).
///
/// ```
/// if let Some(dir) = tenure_postgres::testing::find_bindir() {
///     assert!(dir.join("initdb").is_file());
/// }
/// ```
pub fn find_bindir() -> Option<PathBuf> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("TENURE_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return has_initdb(&dir).then_some(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_initdb(&dir) {
                // A symlink (as /usr/local/bin/initdb → the versioned dir) is followed, so
                // the server's other programs are found beside it.
                let real = fs::canonicalize(dir.join("initdb")).ok();
                return Some(
                    real.and_then(|p| p.parent().map(Path::to_path_buf))
                        .unwrap_or(dir),
                );
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_initdb(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// The watcher: a shell in a process group of its own (a terminal's Ctrl-C or a harness
/// killing our group does not take it along), reading its stdin until this process's end
/// of the pipe closes. Only this process holds that end: std opens pipes close-on-exec, so
/// neither `pg_ctl` nor the server inherits it.
fn spawn_watcher(cluster: &Cluster) -> Result<(Child, ChildStdin), FixtureError> {
    use std::os::unix::process::CommandExt as _;
    let pg_ctl = cluster.bindir.join("pg_ctl");
    let stop = if cluster.as_postgres {
        "runuser -u postgres -- \"$1\" -D \"$2/data\" -m immediate -w stop"
    } else {
        "\"$1\" -D \"$2/data\" -m immediate -w stop"
    };
    let script = format!(
        "while read -r _; do :; done; \
         if [ -f \"$2/data/postmaster.pid\" ]; then {stop}; fi; rm -rf \"$2\""
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("tenure-pg-watcher")
        .arg(pg_ctl)
        .arg(&cluster.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| FixtureError::io("starting the cluster's watcher", e))?;
    let stdin = child.stdin.take().expect("stdin was piped");
    Ok((child, stdin))
}

fn free_port() -> Result<u16, FixtureError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| FixtureError::io("finding a free loopback port", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| FixtureError::io("finding a free loopback port", e))
}

/// A password nobody types: two randomly keyed hashes of the process id, in hex.
fn random_password() -> String {
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new;
    format!(
        "pw{:016x}{:016x}",
        state().hash_one(std::process::id()),
        state().hash_one(std::process::id())
    )
}
