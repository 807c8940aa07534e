//! `tenure::testing::tx`'s conformance suite on PostgreSQL, blocking and async: every case
//! runs, none skipped — the retry cases on a real serialization failure (a concurrent
//! update under `REPEATABLE READ`), the unknown commit on a backend that ends itself while
//! `COMMIT` runs (a deferred trigger), so the reply never comes.

use tenure::pool::{Lease, Pool, PoolConfig};
use tenure::testing::tx::{run_async, run_blocking, AsyncHarness, Harness};
use tenure_postgres::testing::{self, TestDatabase};
use tenure_postgres::{BlockingClient, BlockingManager, Client, Error, Manager};

/// Every harness connection runs repeatable read, so a concurrent update is a
/// serialization failure.
const SESSION: &str = "SET default_transaction_isolation = 'repeatable read'";

const SCHEMA: &str = "
    CREATE TABLE rows (v bigint);
    CREATE TABLE conflict (id int PRIMARY KEY, v int);
    INSERT INTO conflict VALUES (1, 0);
    CREATE SEQUENCE lose_token START 100;
    CREATE FUNCTION lose_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- nextval is not transactional: the token is spent even though this one aborts.
        IF nextval('lose_token') = 2 THEN
            PERFORM pg_terminate_backend(pg_backend_pid());
        END IF;
        RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER lose_commit AFTER INSERT ON rows
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lose_commit();
";

fn pool_config() -> PoolConfig {
    PoolConfig {
        max_size: 1,
        maintenance_interval: None,
        ..PoolConfig::default()
    }
}

struct Blocking(TestDatabase);

impl Harness for Blocking {
    type Conn = BlockingClient;
    type Manager = BlockingManager;

    fn connect(&self) -> BlockingClient {
        let mut c = BlockingClient::connect(&self.0.config(), postgres::NoTls).unwrap();
        c.batch_execute(SESSION).unwrap();
        c
    }

    fn insert(&self, conn: &mut BlockingClient, value: i64) -> Result<(), Error> {
        conn.execute("INSERT INTO rows VALUES ($1)", &[&value])
            .map(drop)
    }

    fn count(&self) -> usize {
        let mut c = BlockingClient::connect(&self.0.config(), postgres::NoTls).unwrap();
        let n: i64 = c
            .query_one("SELECT count(*) FROM rows", &[])
            .unwrap()
            .get(0);
        n as usize
    }

    fn conflict(&self, conn: &mut BlockingClient) -> Option<Error> {
        if let Err(e) = conn.query_one("SELECT v FROM conflict WHERE id = 1", &[]) {
            return Some(e);
        }
        let mut other = BlockingClient::connect(&self.0.config(), postgres::NoTls).unwrap();
        other
            .execute("UPDATE conflict SET v = v + 1 WHERE id = 1", &[])
            .unwrap();
        conn.execute("UPDATE conflict SET v = v + 1 WHERE id = 1", &[])
            .err()
    }

    fn pool(&self) -> Pool<BlockingManager> {
        let manager = BlockingManager::new(self.0.config()).init(|c| c.batch_execute(SESSION));
        Pool::builder(manager)
            .config(pool_config())
            .build()
            .unwrap()
    }

    fn lose_next_commit_reply(&self, _conn: &mut BlockingClient) -> bool {
        arm_lose_token(&self.0);
        true
    }
}

struct Async(TestDatabase);

impl AsyncHarness for Async {
    type Conn = Client;
    type Manager = Manager;
    type Lent = Lease<Manager>;

    fn lend(lease: Lease<Manager>) -> Lease<Manager> {
        lease
    }

    async fn connect(&self) -> Client {
        let c = Client::connect(&self.0.config(), tokio_postgres::NoTls)
            .await
            .unwrap();
        c.batch_execute(SESSION).await.unwrap();
        c
    }

    async fn insert(&self, conn: &mut Client, value: i64) -> Result<(), Error> {
        conn.execute("INSERT INTO rows VALUES ($1)", &[&value])
            .await
            .map(drop)
    }

    async fn count(&self) -> usize {
        let c = Client::connect(&self.0.config(), tokio_postgres::NoTls)
            .await
            .unwrap();
        let n: i64 = c
            .query_one("SELECT count(*) FROM rows", &[])
            .await
            .unwrap()
            .get(0);
        n as usize
    }

    async fn conflict(&self, conn: &mut Client) -> Option<Error> {
        if let Err(e) = conn
            .query_one("SELECT v FROM conflict WHERE id = 1", &[])
            .await
        {
            return Some(e);
        }
        let other = Client::connect(&self.0.config(), tokio_postgres::NoTls)
            .await
            .unwrap();
        other
            .execute("UPDATE conflict SET v = v + 1 WHERE id = 1", &[])
            .await
            .unwrap();
        conn.execute("UPDATE conflict SET v = v + 1 WHERE id = 1", &[])
            .await
            .err()
    }

    fn pool(&self) -> Pool<Manager> {
        let manager = Manager::new(self.0.config()).init(|c| Box::pin(c.batch_execute(SESSION)));
        Pool::builder(manager)
            .config(pool_config())
            .build()
            .unwrap()
    }

    fn lose_next_commit_reply(&self, _conn: &mut Client) -> bool {
        arm_lose_token(&self.0);
        true
    }
}

/// The next commit that inserts into `rows` ends its own backend while `COMMIT` runs: the
/// statement reached the server, its reply never comes. On a thread of its own (a
/// blocking client cannot run on a runtime worker, and the async harness cannot await
/// here).
fn arm_lose_token(db: &TestDatabase) {
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut c = BlockingClient::connect(&db.config(), postgres::NoTls).unwrap();
            c.query_one("SELECT setval('lose_token', 1)", &[]).unwrap();
        })
        .join()
        .unwrap()
    });
}

fn schema(db: &TestDatabase) {
    let mut c = BlockingClient::connect(&db.config(), postgres::NoTls).unwrap();
    c.batch_execute(SCHEMA).unwrap();
}

#[test]
fn the_blocking_client_passes_the_conformance_suite() {
    let Some(db) = testing::database() else {
        return;
    };
    schema(&db);
    let summary = run_blocking(&Blocking(db));
    println!("blocking conformance: {summary}");
    assert!(summary.skipped.is_empty(), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_client_passes_the_conformance_suite() {
    let Some(db) = testing::database() else {
        return;
    };
    let db = tokio::task::spawn_blocking(move || {
        schema(&db);
        db
    })
    .await
    .unwrap();
    let summary = run_async(&Async(db)).await;
    println!("async conformance: {summary}");
    assert!(summary.skipped.is_empty(), "{summary}");
}
