//! Bad input gives a clear typed error naming what failed, at once or within
//! `connect_timeout`: a malformed connection string, an unreachable port, a wrong password,
//! SQL errors. The pool carries the cause, and serves again once the cause is gone.

use std::error::Error as _;
use std::time::Duration;

use tenure::pool::{Pool, PoolError};
use tenure_postgres::{testing, Manager, Operation};
use tokio_postgres::error::SqlState;

use super::{async_pool, config};

#[test]
fn a_malformed_connection_string_is_refused_when_parsed() {
    let err = "host=localhost port=notaport"
        .parse::<tokio_postgres::Config>()
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid connection string");
    assert!(
        err.source().unwrap().to_string().contains("port"),
        "{:?}",
        err.source()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_port_fails_the_create_with_the_cause() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut pg = tokio_postgres::Config::new();
    pg.host("127.0.0.1")
        .port(port)
        .user("nobody")
        .dbname("nothing")
        .connect_timeout(Duration::from_secs(2));
    let pool = Pool::builder(Manager::new(pg))
        .config(config(1))
        .build()
        .unwrap();
    match pool.get().await.unwrap_err() {
        PoolError::Create(e) => {
            assert_eq!(e.operation(), Operation::Connect);
            assert_eq!(
                e.to_string(),
                format!("connect on nobody@127.0.0.1:{port}/nothing failed")
            );
            assert!(e.source().is_some());
        }
        other => panic!("{other:?}"),
    }
    match pool.get().await.unwrap_err() {
        PoolError::Unavailable { cause, .. } => assert_eq!(cause.operation(), Operation::Connect),
        PoolError::Create(e) => assert_eq!(e.operation(), Operation::Connect),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_typed_and_the_pool_serves_once_it_is_right() {
    let Some(db) = testing::database() else {
        return;
    };
    let Some((mut pg, password)) = db.password_config() else {
        eprintln!("skipped: no password role on TENURE_PG_URL's server");
        return;
    };
    let wrong = format!("{password}-wrong");
    pg.password(wrong.as_str());
    let pool = Pool::builder(Manager::new(pg))
        .config(tenure::pool::PoolConfig {
            create_backoff: Duration::from_millis(10),
            max_create_backoff: Duration::from_millis(50),
            ..config(1)
        })
        .build()
        .unwrap();
    let PoolError::Create(e) = pool.get().await.unwrap_err() else {
        panic!("not a create error")
    };
    assert_eq!(e.code(), Some(&SqlState::INVALID_PASSWORD));
    assert!(!format!("{e} {e:?}").contains(&wrong));

    // The cause goes away: the role's password becomes the one the pool uses.
    let admin = super::observer(&db).await;
    admin
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD '{wrong}'",
            testing::PASSWORD_ROLE
        ))
        .await
        .unwrap();
    let mut served = None;
    for _ in 0..100 {
        match pool.get().await {
            Ok(c) => {
                served = Some(c.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0));
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert_eq!(served, Some(1));
    admin
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD '{password}'",
            testing::PASSWORD_ROLE
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_errors_come_back_typed_and_the_lease_stays_usable() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, tenure_postgres::Reset::None);
    let c = pool.get().await.unwrap();
    let e = c.query("SELEC 1", &[]).await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::SYNTAX_ERROR));
    assert_eq!(e.operation(), Operation::Query);
    assert!(!e.is_connection_lost());
    c.batch_execute("CREATE TABLE u (x int PRIMARY KEY); INSERT INTO u VALUES (1)")
        .await
        .unwrap();
    let e = c
        .execute("INSERT INTO u VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION));
    assert_eq!(e.operation(), Operation::Execute);
    assert!(!c.is_broken());
    let n: i64 = c
        .query_one("SELECT count(*) FROM u", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}
