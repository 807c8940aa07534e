//! A password never shows: not in any `Debug` or `Display` of this crate's types and
//! errors, nor in what `tracing` records at TRACE while connecting, failing and pooling.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::pool::Pool;
use tenure_postgres::{testing, BlockingManager, Manager};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_password_appears_nowhere() {
    let Some(db) = testing::database() else {
        return;
    };
    let Some((good, password)) = db.password_config() else {
        eprintln!("skipped: no password role on TENURE_PG_URL's server");
        return;
    };
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let mut printed = String::new();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut wrong = good.clone();
            wrong.password(format!("{password}{password}"));
            for config in [good.clone(), wrong] {
                let manager = Manager::new(config.clone());
                printed += &format!("{manager:?} {:?}\n", manager.config());
                let pool = Pool::builder(manager)
                    .config(super::config(1))
                    .build()
                    .unwrap();
                match pool.get().await {
                    Ok(c) => {
                        printed += &format!("{:?}\n", &*c);
                        let e = c.query("SELECT nonsense", &[]).await.unwrap_err();
                        printed += &format!("{e} {e:?}\n");
                    }
                    Err(e) => printed += &format!("{e} {e:?} {}\n", report(&e)),
                }
                let blocking = BlockingManager::new(config);
                printed += &format!("{blocking:?}\n");
            }
            let e = tenure_postgres::Error::timed_out(
                &good,
                tenure_postgres::Operation::Connect,
                Duration::from_secs(1),
            );
            printed += &format!("{e} {e:?}\n");
        });
    });
    let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        !logged.is_empty(),
        "nothing was logged: the test would prove nothing"
    );
    assert!(printed.contains("tenure_pw@127.0.0.1"), "{printed}");
    for (what, text) in [("printed", &printed), ("logged", &logged)] {
        assert!(!text.contains(password), "the password was {what}:\n{text}");
    }
}

fn report(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        out += &format!(": {c} ({c:?})");
        cause = c.source();
    }
    out
}
