//! The figures add up: `Status` accounts for every slot — resources being created,
//! checked and closed have fields of their own, `size` is their sum with `idle` and
//! `in_use` — and its `Display` shows the slots at work.
#![cfg(feature = "pool")]

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolConfig, Status, Validation, Work};

/// Each create, validation and close waits for a go from the test.
struct Gated {
    go: Arc<Mutex<Receiver<()>>>,
}

impl Gated {
    fn wait(go: &Arc<Mutex<Receiver<()>>>) {
        go.lock().unwrap().recv().unwrap();
    }
}

impl Manager for Gated {
    type Resource = ();
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<(), std::io::Error>> {
        let go = self.go.clone();
        Work::blocking(move || {
            Gated::wait(&go);
            Ok(())
        })
    }
    fn validate(&self, r: ()) -> Work<((), Result<(), std::io::Error>)> {
        let go = self.go.clone();
        Work::blocking(move || {
            Gated::wait(&go);
            (r, Ok(()))
        })
    }
    fn close(&self, _: ()) -> Work<Result<(), BoxError>> {
        let go = self.go.clone();
        Work::blocking(move || {
            Gated::wait(&go);
            Ok(())
        })
    }
}

fn gated() -> (Pool<Gated>, Sender<()>) {
    let (tx, rx) = channel();
    let config = PoolConfig {
        max_size: 1,
        validation: Validation::Always,
        maintenance_interval: None,
        acquire_timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    };
    let pool = Pool::new(
        Gated {
            go: Arc::new(Mutex::new(rx)),
        },
        config,
    )
    .unwrap();
    (pool, tx)
}

/// Waits until the pool's status is `want`.
fn until(pool: &Pool<Gated>, want: Status) {
    for _ in 0..2000 {
        if pool.status() == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("status {:?}, wanted {want:?}", pool.status());
}

fn adds_up(s: Status) {
    assert_eq!(
        s.size,
        s.idle + s.in_use + s.creating + s.checking + s.closing,
        "{s:?}"
    );
}

#[test]
fn creating_checking_and_closing_have_fields_of_their_own() {
    let (pool, go) = gated();
    let base = Status {
        max_size: 1,
        ..Status::default()
    };

    let getter = std::thread::spawn({
        let pool = pool.clone();
        move || drop(pool.get_blocking().unwrap())
    });
    let creating = Status {
        size: 1,
        creating: 1,
        waiting: 1,
        ..base
    };
    until(&pool, creating);
    adds_up(creating);
    assert_eq!(
        pool.status().to_string(),
        "0 of 1 in use, 0 idle, 1 creating, 1 waiting"
    );
    go.send(()).unwrap();
    getter.join().unwrap();
    until(
        &pool,
        Status {
            size: 1,
            idle: 1,
            ..base
        },
    );

    let getter = std::thread::spawn({
        let pool = pool.clone();
        move || drop(pool.get_blocking().unwrap())
    });
    let checking = Status {
        size: 1,
        checking: 1,
        waiting: 1,
        ..base
    };
    until(&pool, checking);
    adds_up(checking);
    assert_eq!(
        pool.status().to_string(),
        "0 of 1 in use, 0 idle, 1 checking, 1 waiting"
    );
    go.send(()).unwrap();
    getter.join().unwrap();

    let closing = pool.close();
    let status = Status {
        size: 1,
        closing: 1,
        ..base
    };
    until(&pool, status);
    adds_up(status);
    go.send(()).unwrap();
    drop(closing);
    assert!(pool.close_blocking(Duration::from_secs(10)));
    assert_eq!(pool.status(), base);
}
