//! `Close` releases by consuming; `Closing` closes on drop and reports a failure through
//! `tracing` (naming the resource) or returns it from an explicit `close`; `Vec<R>` closes
//! every element last first, keeps every error and keeps closing after a panic; the
//! `tempfile` types delete on close (and report a directory already gone); `Closing`'s
//! operations never shadow the resource's own methods.

mod common;

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{capture, quiet_expected_panics, warnings, whats, Boom, Log};
use tenure::close::{close_with, Closing, Dropping};
use tenure::testing::{Ending, Ledger, Op};
use tenure::{Close, ErrorKind};

/// A resource whose release logs `name` and fails if `fail`.
fn logged(log: &Log, name: &'static str, fail: bool) -> impl Close<Error = Boom> {
    let log = log.clone();
    close_with(name, move |name| {
        log.push(name);
        if fail {
            Err(Boom::new(format!("{name} failed")))
        } else {
            Ok(())
        }
    })
}

#[test]
fn closing_closes_on_drop() {
    let log = Log::new();
    let ((), events) = capture(|| {
        let _c = Closing::new(logged(&log, "conn", false));
        assert!(log.get().is_empty());
    });
    assert_eq!(log.get(), ["conn"]);
    assert!(warnings(&events).is_empty());
}

#[test]
fn closing_reports_a_failed_close_on_drop_naming_the_resource() {
    let log = Log::new();
    let ((), events) = capture(|| {
        let _c = Closing::named("audit log", logged(&log, "conn", true));
    });
    assert_eq!(log.get(), ["conn"]);
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1, "{events:#?}");
    let w = warns[0];
    assert_eq!(w.field("resource"), Some("audit log"));
    assert_eq!(w.field("kind"), Some("Close"));
    assert_eq!(w.field("context"), Some("Closing::drop"));
    assert!(
        w.message()
            .contains("failed to close `audit log`: conn failed"),
        "{}",
        w.message()
    );
}

#[test]
fn closing_new_reports_under_the_type_name() {
    let ((), events) = capture(|| {
        let ledger = Ledger::new();
        ledger.faults().fail_nth(Op::Close, "conn", 1);
        let c = Closing::new(ledger.acquire("conn").unwrap());
        assert!(Closing::name(&c).contains("TestResource"));
    });
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1);
    assert!(warns[0].field("resource").unwrap().contains("TestResource"));
    assert!(warns[0]
        .message()
        .contains("injected fault: close #1 of `conn`"));
}

#[test]
fn closing_closes_while_unwinding() {
    quiet_expected_panics();
    let ledger = Ledger::new();
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _c = Closing::new(ledger.acquire("conn").unwrap());
        panic!("[expected] while holding a resource");
    }));
    assert!(r.is_err());
    ledger.assert_all_released();
    assert_eq!(
        ledger.faults().count(Op::Close, "conn"),
        1,
        "closed, not just dropped"
    );
}

#[test]
fn explicit_close_returns_the_error_and_logs_nothing() {
    let log = Log::new();
    let (r, events) =
        capture(|| Closing::close(Closing::named("conn", logged(&log, "conn", true))));
    assert_eq!(r.unwrap_err().0, "conn failed");
    assert_eq!(log.get(), ["conn"], "closed exactly once");
    assert!(warnings(&events).is_empty());
}

#[test]
fn into_inner_hands_the_resource_back_unclosed() {
    let ledger = Ledger::new();
    let c = Closing::new(ledger.acquire("conn").unwrap());
    let res = Closing::into_inner(c);
    assert_eq!(ledger.live_count(), 1);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 0);
    res.close().unwrap();
    ledger.assert_all_released();
}

#[test]
fn closing_derefs_to_the_resource() {
    use std::io::Write;
    let mut w = Closing::named("buffer", std::io::BufWriter::new(Vec::new()));
    w.write_all(b"hello").unwrap();
    assert_eq!(w.buffer(), b"hello");
    Closing::close(w).unwrap();
}

#[test]
fn bufwriter_close_returns_the_flush_error() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    use std::io::Write;
    let mut w = std::io::BufWriter::new(Full);
    w.write_all(b"buffered, not yet written").unwrap();
    let e = w.close().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
}

#[test]
fn vec_closes_in_reverse_and_keeps_every_error() {
    let log = Log::new();
    let all = vec![
        logged(&log, "a", true),
        logged(&log, "b", false),
        logged(&log, "c", true),
        logged(&log, "d", true),
    ];
    let e = all.close().unwrap_err();
    assert_eq!(log.get(), ["d", "c", "b", "a"]);
    assert_eq!(whats(&e), ["d failed", "c failed", "a failed"]);
    assert!(e.iter().all(|e| e.kind() == ErrorKind::Close));
    assert!(e.resource().contains("CloseWith"), "{}", e.resource());

    let log = Log::new();
    vec![logged(&log, "x", false), logged(&log, "y", false)]
        .close()
        .unwrap();
    assert_eq!(log.get(), ["y", "x"]);
    Vec::<Dropping<u8>>::new().close().unwrap();
}

#[test]
fn vec_close_panic_does_not_skip_the_others() {
    quiet_expected_panics();
    let log = Log::new();
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "conn", 2);
    ledger.faults().fail_nth(Op::Close, "conn", 3);
    let conns: Vec<_> = (0..4)
        .map(|i| {
            let log = log.clone();
            close_with(ledger.acquire("conn").unwrap(), move |r| {
                log.push(format!("close {i}"));
                r.close()
            })
        })
        .collect();
    let (r, events) = capture(|| catch_unwind(AssertUnwindSafe(|| conns.close())));
    let msg = common::panic_msg(&*r.unwrap_err());
    assert_eq!(msg, "injected fault: close #2 of `conn` (panic)");
    // Every element was closed (not merely dropped), last first, once.
    assert_eq!(log.get(), ["close 3", "close 2", "close 1", "close 0"]);
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [4, 3, 2, 1]);
    // The error that could not ride along with the panic was logged.
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1, "{events:#?}");
    assert!(warns[0]
        .message()
        .contains("injected fault: close #3 of `conn`"));
}

#[test]
fn option_and_box_close_what_they_hold() {
    let log = Log::new();
    Some(logged(&log, "some", false)).close().unwrap();
    None::<Dropping<()>>.close().unwrap();
    assert_eq!(
        Box::new(logged(&log, "boxed", true)).close().unwrap_err().0,
        "boxed failed"
    );
    assert_eq!(log.get(), ["some", "boxed"]);
}

#[test]
fn dropping_drops_and_never_fails() {
    let log = Log::new();
    let d = Dropping(common::DropLogged {
        name: "file",
        log: log.clone(),
    });
    assert_eq!(d.name, "file"); // derefs
    let r: Result<(), std::convert::Infallible> = d.close();
    assert!(r.is_ok());
    assert_eq!(log.get(), ["drop file"]);
}

#[test]
fn close_with_derefs_and_releases_with_its_function() {
    let mut conn = close_with(vec![1], |v: Vec<i32>| {
        if v.len() == 2 {
            Ok(())
        } else {
            Err(Boom::new("wrong state"))
        }
    });
    conn.push(2);
    assert_eq!(conn.len(), 2);
    assert_eq!(format!("{conn:?}"), "CloseWith([1, 2])");
    conn.close().unwrap();
}

#[cfg(feature = "tempfile")]
mod tempfile_impls {
    use super::*;

    #[test]
    fn named_temp_file_is_deleted_on_close() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let path = f.path().to_path_buf();
        assert!(path.exists());
        Close::close(f).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn temp_path_and_temp_dir_are_deleted_on_close() {
        let p = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let path = p.to_path_buf();
        Close::close(p).unwrap();
        assert!(!path.exists());

        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("inner.txt"), "x").unwrap();
        let path = d.path().to_path_buf();
        Close::close(d).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn failure_to_delete_is_returned_and_named_in_a_stack() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::remove_file(f.path()).unwrap(); // someone else removed it
        let mut s = tenure::ExitStack::new();
        s.named("scratch file").enter(f);
        let e = s.unwind().unwrap_err();
        assert_eq!(e.resource(), "scratch file");
        assert_eq!(
            e.cause::<std::io::Error>().unwrap().kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[test]
    fn temp_files_in_a_stack_are_all_removed_when_the_body_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        let r = tenure::ExitStack::scope(|s| {
            for _ in 0..3 {
                let f = tempfile::NamedTempFile::new_in(dir.path())?;
                paths.push(f.path().to_path_buf());
                s.enter(f);
            }
            Err::<(), _>(std::io::Error::other("processing failed"))
        });
        assert!(r.unwrap_err().body().is_some());
        assert!(paths.iter().all(|p| !p.exists()));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn a_close_panicking_while_the_owner_unwinds_is_reported_not_an_abort() {
    // A second panic escaping a destructor during unwinding aborts the process; `Closing`
    // must catch it and report it, as `ExitStack`'s drop does.
    quiet_expected_panics();
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "conn", 1);
    let (r, events) = capture(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _c = Closing::named("conn 1", ledger.acquire("conn").unwrap());
            panic!("[expected] owner panicked");
        }))
    });
    assert_eq!(
        common::panic_msg(&*r.unwrap_err()),
        "[expected] owner panicked"
    );
    ledger.assert_all_released();
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1, "{events:#?}");
    assert_eq!(warns[0].field("kind"), Some("Panic"));
    assert_eq!(warns[0].field("resource"), Some("conn 1"));
    assert!(warns[0]
        .message()
        .contains("injected fault: close #1 of `conn` (panic)"));
}

#[test]
fn a_close_panicking_outside_unwinding_propagates_from_drop() {
    quiet_expected_panics();
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "conn", 1);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _c = Closing::new(ledger.acquire("conn").unwrap());
    }));
    assert_eq!(
        common::panic_msg(&*r.unwrap_err()),
        "injected fault: close #1 of `conn` (panic)"
    );
    ledger.assert_all_released();
}

#[test]
fn a_nested_stack_dropped_unclosed_logs_every_nested_error() {
    let mut inner: tenure::ExitStack<'static> = tenure::ExitStack::new();
    inner.try_callback(|| Err(Boom::new("inner one")));
    inner.try_callback(|| Err(Boom::new("inner two")));
    let ((), events) = capture(|| {
        let _c = Closing::named("inner stack", inner);
    });
    let text: Vec<_> = warnings(&events)
        .iter()
        .map(|w| w.message().to_string())
        .collect();
    assert!(text.iter().any(|m| m.contains("inner one")), "{text:#?}");
    assert!(text.iter().any(|m| m.contains("inner two")), "{text:#?}");
}

/// A resource with methods of the same names as `Closing`'s own operations.
struct Conn {
    closed: std::rc::Rc<std::cell::Cell<u32>>,
}
impl Conn {
    fn name(&self) -> &str {
        "the connection's own name"
    }
    #[allow(clippy::wrong_self_convention)] // the name is the point: it must not be shadowed
    fn into_inner(&self) -> &'static str {
        "the connection's own into_inner"
    }
}
impl Close for Conn {
    type Error = io::Error;
    fn close(self) -> io::Result<()> {
        self.closed.set(self.closed.get() + 1);
        Ok(())
    }
}

#[test]
fn closing_never_shadows_the_resources_methods() {
    let closed = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = Closing::named(
        "guard name",
        Conn {
            closed: closed.clone(),
        },
    );
    assert_eq!(c.name(), "the connection's own name");
    assert_eq!(c.into_inner(), "the connection's own into_inner");
    assert_eq!(Closing::name(&c), "guard name");
    Closing::close(c).unwrap();
    assert_eq!(closed.get(), 1);

    let c = Closing::new(Conn {
        closed: closed.clone(),
    });
    let conn = Closing::into_inner(c);
    assert_eq!(
        closed.get(),
        1,
        "into_inner hands the resource back unclosed"
    );
    drop(conn);
}

#[test]
fn close_of_a_vec_keeps_closing_after_a_panic_and_resumes_it() {
    common::quiet_expected_panics();
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "v", 2);
    let v: Vec<_> = (0..3).map(|_| ledger.acquire("v").unwrap()).collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Close::close(v)));
    assert!(
        r.is_err(),
        "the panic resumed after every element was closed"
    );
    assert_eq!(ledger.release_order(), [3, 2, 1]);
    assert_eq!(
        ledger.ending(1),
        Some(Ending::Closed),
        "the one after the panic was closed"
    );
    // Two panics: the first resumes, the second is reported (not the other way round).
    ledger
        .faults()
        .panic_nth(Op::Close, "x", 1)
        .panic_nth(Op::Close, "x", 3);
    let v: Vec<_> = (0..3).map(|_| ledger.acquire("x").unwrap()).collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Close::close(v)));
    let msg = common::panic_msg(&*r.unwrap_err());
    assert!(msg.contains("close #1 of `x`"), "{msg}");
    // Without a panic nothing resumes.
    let v: Vec<_> = (0..2).map(|_| ledger.acquire("w").unwrap()).collect();
    Close::close(v).unwrap();
}

#[test]
fn closing_a_temp_dir_that_is_gone_reports_the_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::remove_dir(dir.path()).unwrap();
    assert!(
        Close::close(dir).is_err(),
        "the deletion error Drop would swallow"
    );
    let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    std::fs::remove_file(&path).unwrap();
    assert!(Close::close(path).is_err());
}
