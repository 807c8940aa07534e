//! Helpers shared by the integration tests: capture `tracing` events on the current
//! thread, and keep expected panics from cluttering the test output.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, Once};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One captured `tracing` event.
#[derive(Debug, Clone)]
pub struct Captured {
    pub target: String,
    pub level: Level,
    /// Every field, rendered as text (`message` included); strings without quotes.
    pub fields: BTreeMap<String, String>,
    /// Numeric fields, kept typed.
    pub u64s: BTreeMap<String, u64>,
    pub f64s: BTreeMap<String, f64>,
}

impl Captured {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
    pub fn message(&self) -> &str {
        self.field("message").unwrap_or("")
    }
}

#[derive(Default)]
struct Visitor {
    fields: BTreeMap<String, String>,
    u64s: BTreeMap<String, u64>,
    f64s: BTreeMap<String, f64>,
}

impl Visit for Visitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.fields
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields
            .insert(field.name().to_string(), value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.u64s.insert(field.name().to_string(), value);
        self.fields
            .insert(field.name().to_string(), value.to_string());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.f64s.insert(field.name().to_string(), value);
        self.fields
            .insert(field.name().to_string(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields
            .insert(field.name().to_string(), value.to_string());
    }
}

#[derive(Clone, Default)]
struct CaptureLayer {
    events: Arc<Mutex<Vec<Captured>>>,
}

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut v = Visitor::default();
        event.record(&mut v);
        self.events.lock().unwrap().push(Captured {
            target: event.metadata().target().to_string(),
            level: *event.metadata().level(),
            fields: v.fields,
            u64s: v.u64s,
            f64s: v.f64s,
        });
    }
}

/// Runs `f` with a subscriber that records every event emitted on this thread, and returns
/// `f`'s result with the events. Panics in `f` propagate (the events are then lost: use
/// `catch_unwind` inside `f` to observe them).
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<Captured>) {
    let layer = CaptureLayer::default();
    let events = layer.events.clone();
    let subscriber = tracing_subscriber::registry().with(layer);
    let out = tracing::subscriber::with_default(subscriber, f);
    let events = events.lock().unwrap().clone();
    (out, events)
}

/// Only the warnings tenure reports from places that cannot return an error.
pub fn warnings(events: &[Captured]) -> Vec<&Captured> {
    events
        .iter()
        .filter(|e| e.level == Level::WARN && e.target == "tenure")
        .collect()
}

/// Keeps the panics tests provoke on purpose (their message contains `[expected]` or
/// `injected fault`) out of the output; every other panic is printed as usual.
pub fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !(msg.contains("[expected]") || msg.contains("injected fault")) {
                default(info);
            }
        }));
    });
}

/// The message of a panic payload caught by `catch_unwind`.
pub fn panic_msg(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string payload>".to_string())
}

/// A plain error with a message, for bodies and callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boom(pub String);

impl Boom {
    pub fn new(msg: impl Into<String>) -> Self {
        Boom(msg.into())
    }
}

impl fmt::Display for Boom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Boom {}

/// What an error says about itself: the cause's message, or the panic detail.
pub fn what(e: &tenure::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(s) => s.to_string(),
        None => e.detail().unwrap_or("").to_string(),
    }
}

/// The primary error and its suppressed ones, as `what` strings, in order.
pub fn whats(e: &tenure::Error) -> Vec<String> {
    e.iter().map(what).collect()
}

/// A shared, cloneable log of what ran, for resources that must be `'static`.
#[derive(Clone, Default)]
pub struct Log(std::rc::Rc<std::cell::RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    /// A closure-friendly pusher.
    pub fn pusher(&self, s: &'static str) -> impl FnOnce() + 'static {
        let log = self.clone();
        move || log.push(s)
    }
    pub fn get(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// A resource released by `Drop` alone that logs its release.
pub struct DropLogged {
    pub name: &'static str,
    pub log: Log,
}

impl Drop for DropLogged {
    fn drop(&mut self) {
        self.log.push(format!("drop {}", self.name));
    }
}

/// A `Meter::on_end` callback that keeps every report, and the list it keeps them in.
#[cfg(feature = "stream")]
pub fn end_reports() -> (
    Arc<Mutex<Vec<tenure::stream::StreamMetrics>>>,
    impl Fn(&tenure::stream::StreamMetrics) + Send,
) {
    let ended = Arc::new(Mutex::new(Vec::new()));
    let sink = ended.clone();
    (ended, move |m: &tenure::stream::StreamMetrics| {
        sink.lock().unwrap().push(m.clone())
    })
}

/// CPython's `test_callback` / `test_async_callback` cases: positional arguments and an
/// optional keyword, in the order the callbacks must run (the tests push them reversed).
pub fn cpython_callback_args() -> Vec<(Vec<i32>, Option<&'static str>)> {
    vec![
        (vec![], None),
        (vec![1], None),
        (vec![1, 2], None),
        (vec![], Some("example=1")),
        (vec![1], Some("example=1")),
        (vec![1, 2], Some("example=1")),
    ]
}
