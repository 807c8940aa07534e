//! The throwaway-cluster fixture: a database per test, trust plus one password role, and a
//! cluster that is stopped and removed however the process that made it ends.
#![cfg(feature = "testing")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tenure_postgres::testing::{self, PASSWORD_ROLE};

fn connect(config: tokio_postgres::Config) -> Result<postgres::Client, postgres::Error> {
    postgres::Config::from(config).connect(postgres::NoTls)
}

/// Runs this test binary again, running only the ignored test `name`.
fn child(name: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--ignored",
        "--exact",
        "--nocapture",
        "--test-threads=1",
        name,
    ])
    .env_remove("TENURE_PG_URL");
    c
}

/// Waits for `done`, up to a minute (a liveness bound, not a timing expectation).
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn each_test_gets_a_database_of_its_own() {
    let Some(a) = testing::database() else { return };
    let Some(b) = testing::database() else { return };
    assert_ne!(a.name(), b.name());
    let mut ca = connect(a.config()).unwrap();
    let mut cb = connect(b.config()).unwrap();
    ca.batch_execute("CREATE TABLE only_in_a (x int)").unwrap();
    cb.batch_execute("CREATE TABLE only_in_b (x int)").unwrap();
    let tables = |c: &mut postgres::Client| -> Vec<String> {
        c.query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    assert_eq!(tables(&mut ca), ["only_in_a"]);
    assert_eq!(tables(&mut cb), ["only_in_b"]);
    let db: String = ca
        .query_one("SELECT current_database()::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(db, a.name());
}

#[test]
fn only_the_password_role_needs_a_password() {
    let Some(db) = testing::database() else {
        return;
    };
    let Some((config, password)) = db.password_config() else {
        eprintln!("skipped: TENURE_PG_URL's server has no password role of the fixture's");
        return;
    };
    let mut client = connect(config.clone()).unwrap();
    let user: String = client
        .query_one("SELECT current_user::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(user, PASSWORD_ROLE);

    let mut wrong = config.clone();
    wrong.password(format!("{password}x"));
    let Err(err) = connect(wrong) else {
        panic!("a wrong password was accepted")
    };
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
        "{err}"
    );

    // Every other role is trusted: no password asked.
    let mut trusted = db.config();
    trusted.password("anything at all");
    connect(trusted).unwrap();
}

#[test]
fn dropping_an_own_cluster_stops_and_removes_it() {
    let Some(cluster) = testing::own_cluster() else {
        return;
    };
    let dir = cluster.dir().to_path_buf();
    let config = cluster.config("postgres");
    connect(config.clone()).unwrap();
    assert!(dir.join("data").is_dir());
    drop(cluster);
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(connect(config).is_err(), "the server still answers");
}

#[test]
fn a_stopped_cluster_starts_again_with_its_data() {
    let Some(cluster) = testing::own_cluster() else {
        return;
    };
    let mut c = connect(cluster.config("postgres")).unwrap();
    c.batch_execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
        .unwrap();
    cluster.stop().unwrap();
    assert!(c.is_valid(Duration::from_secs(5)).is_err());
    assert!(connect(cluster.config("postgres")).is_err());
    cluster.start_again().unwrap();
    let mut c = connect(cluster.config("postgres")).unwrap();
    let x: i32 = c.query_one("SELECT x FROM kept", &[]).unwrap().get(0);
    assert_eq!(x, 7);
}

/// The child of the test below: makes the shared cluster, says where it is, and waits to
/// be killed.
#[test]
#[ignore = "run by the_shared_cluster_is_removed_when_its_process_is_killed, as a child process"]
fn child_holds_the_shared_cluster() {
    let db = testing::database().expect("the parent checked that a server can be made");
    let cluster = db.cluster().expect("TENURE_PG_URL was removed");
    println!("CLUSTER {} {}", cluster.port(), cluster.dir().display());
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn the_shared_cluster_is_removed_when_its_process_is_killed() {
    // Only where this machine can make a cluster (a TENURE_PG_URL run may not): without
    // initdb, own_cluster says why it skips (or fails, when a server is required).
    if testing::find_bindir().is_none() {
        assert!(testing::own_cluster().is_none());
        return;
    }
    let mut child = child("child_holds_the_shared_cluster")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // The harness prints "test NAME ... " before the test's own output, on the same line.
    while !line.contains("CLUSTER ") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child said nothing"
        );
    }
    let said = &line[line.find("CLUSTER ").unwrap()..];
    let mut words = said.split_whitespace().skip(1);
    let port: u16 = words.next().unwrap().parse().unwrap();
    let dir = PathBuf::from(words.next().unwrap());
    assert!(dir.join("data/postmaster.pid").is_file());
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname("postgres");
    connect(config.clone()).unwrap();

    child.kill().unwrap(); // SIGKILL: no destructor, no atexit, nothing in-process runs
    child.wait().unwrap();
    eventually("the killed process's cluster directory is removed", || {
        !dir.exists()
    });
    assert!(connect(config).is_err(), "the server outlived its process");
}

/// The child of the test below: asks for a cluster where none can be made.
#[test]
#[ignore = "run by a_missing_server_skips_or_fails_as_told, as a child process"]
fn child_without_a_server() {
    match testing::own_cluster() {
        Some(_) => println!("GOT A CLUSTER"),
        None => println!("RETURNED NONE"),
    }
}

#[test]
fn a_missing_server_skips_or_fails_as_told() {
    let run = |require: &str| {
        child("child_without_a_server")
            .env("TENURE_PG_BINDIR", "/nonexistent")
            .env("TENURE_REQUIRE_PG", require)
            .output()
            .unwrap()
    };
    let skipped = run("0");
    let stdout = String::from_utf8_lossy(&skipped.stdout);
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("RETURNED NONE"), "{stdout}");
    assert!(
        stderr.contains("skipped: no PostgreSQL server: no initdb found"),
        "{stderr}"
    );

    let required = run("1");
    let output = String::from_utf8_lossy(&required.stdout).into_owned()
        + &String::from_utf8_lossy(&required.stderr);
    assert!(!required.status.success(), "{output}");
    assert!(
        output.contains("PostgreSQL is required here (TENURE_REQUIRE_PG=1), but no initdb found"),
        "{output}"
    );
}
