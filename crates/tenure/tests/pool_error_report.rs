//! `PoolError::report()` renders the whole chain, each message once, as `Error` and
//! `ScopeError` do.
#![cfg(feature = "pool")]

use std::sync::Arc;
use std::time::Duration;

use tenure::pool::{PoolError, Status};

#[test]
fn a_timeout_reports_the_last_create_error_once() {
    let cause = Arc::new(std::io::Error::other("connection refused"));
    let e: PoolError<std::io::Error> = PoolError::Timeout {
        waited: Duration::from_secs(1),
        status: Status {
            size: 0,
            waiting: 1,
            max_size: 1,
            ..Status::default()
        },
        last_create_error: Some(cause),
    };
    let text = e.report().to_string();
    assert_eq!(
        text,
        "timed out after 1s waiting for a resource (0 of 1 in use, 0 idle, 1 waiting): \
         connection refused"
    );
    assert_eq!(text.matches("connection refused").count(), 1);
}
