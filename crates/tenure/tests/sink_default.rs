//! The process-wide default sink takes what owners without a sink of their own report
//! (its own test binary: the default is process-global).

use std::io;
use std::sync::Arc;

use tenure::sink::{set_default, CollectingSink};
use tenure::ExitStack;

#[test]
fn owners_without_a_sink_report_to_the_process_default() {
    let global = Arc::new(CollectingSink::new(8));
    set_default(global.clone());
    let mut s = ExitStack::new();
    s.named("no sink of its own")
        .try_callback(|| Err(io::Error::other("x")));
    drop(s);
    let own = Arc::new(CollectingSink::new(8));
    let mut s = ExitStack::new().with_sink(own.clone());
    s.named("its own")
        .try_callback(|| Err(io::Error::other("y")));
    drop(s);
    let names = |sink: &CollectingSink| -> Vec<String> {
        sink.take()
            .iter()
            .map(|r| r.error().unwrap().resource().to_string())
            .collect()
    };
    assert_eq!(names(&global), ["no sink of its own"]);
    assert_eq!(names(&own), ["its own"]);
}
