//! Running a body with a stack and closing the stack with the body's outcome.

use std::error::Error as StdError;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use super::{ExitStack, ScopeError};
use crate::error::{BoxError, DynError, Error};
use crate::exit_rules::{finish, settle_body_error};
use crate::outcome::Outcome;
use crate::sink::{emit, report_dropped};

impl<'a> ExitStack<'a> {
    /// Runs `body` with a fresh stack, then closes the stack with the body's outcome.
    ///
    /// - `Ok(value)` when the body succeeded and every cleanup did too;
    /// - [`ScopeError::Body`] when the body failed: its error stays primary and cleanup
    ///   errors ride along;
    /// - [`ScopeError::Cleanup`] when cleanup failed and the body succeeded (or an exit
    ///   callback suppressed the body's error: the cleanup error takes its place);
    /// - [`ScopeError::Suppressed`] when an exit callback suppressed the body's error
    ///   (the body produced no value).
    ///
    /// A panic in the body runs all cleanup (exit callbacks see [`Outcome::Panic`]), then
    /// resumes.
    ///
    /// ```
    /// use tenure::{ExitStack, ScopeError};
    /// let r = ExitStack::scope(|s| {
    ///     s.try_callback(|| Err(std::io::Error::other("cleanup failed")));
    ///     Err::<(), _>(std::io::Error::other("body failed"))
    /// });
    /// match r {
    ///     Err(ScopeError::Body { error, cleanup }) => {
    ///         assert_eq!(error.to_string(), "body failed");
    ///         assert!(cleanup.unwrap().report().to_string().ends_with(": cleanup failed"));
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// ```
    pub fn scope<T, E, F>(body: F) -> Result<T, ScopeError<E>>
    where
        F: FnOnce(&mut ExitStack<'a>) -> Result<T, E>,
        E: StdError + 'static,
    {
        ExitStack::new().run(body)
    }

    /// Runs `body` with this stack, then closes it with the body's outcome; see
    /// [`scope`](Self::scope). Entries pushed before the call are closed too.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.callback(|| println!("pushed before"));
    /// let v = s.run(|s| { s.callback(|| println!("pushed inside")); Ok::<_, std::io::Error>(5) })?;
    /// assert_eq!(v, 5);
    /// # Ok::<(), tenure::ScopeError<std::io::Error>>(())
    /// ```
    pub fn run<T, E, F>(&mut self, body: F) -> Result<T, ScopeError<E>>
    where
        F: FnOnce(&mut ExitStack<'a>) -> Result<T, E>,
        E: StdError + 'static,
    {
        self.run_as(body, |e| e)
    }

    /// [`scope`](Self::scope) for a body whose error type is not an
    /// [`std::error::Error`] — `Box<dyn Error + Send + Sync>`, `anyhow::Error`, a `String`:
    /// anything `Into<`[`BoxError`]`>`. The body's error is boxed as it
    /// leaves the body; exit callbacks see the boxed error itself (so a
    /// `Box<dyn Error>` holding an `io::Error` is matched by
    /// [`suppress::io_kind`](crate::suppress::io_kind)), and it comes back as a
    /// [`DynError`], which is an `Error`: `?` takes the [`ScopeError`] into `anyhow` or a
    /// `Box<dyn Error>` again.
    ///
    /// An `anyhow::Error` becomes a `Box<dyn Error>` as anyhow's own wrapper: it shows the
    /// original error's message and sources but is not that error, so a type-based
    /// suppression ([`suppress::io_kind`](crate::suppress::io_kind),
    /// [`suppress::error_type`](crate::suppress::error_type)) finds the original only as a
    /// source — after `.context(…)`, not at the top level of a bare `anyhow::Error::from(e)`.
    ///
    /// ```
    /// use tenure::ExitStack;
    ///
    /// fn load(path: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    ///     let text = ExitStack::scope_dyn(|s| {
    ///         s.callback(|| println!("released"));
    ///         let text = std::fs::read_to_string(path)?; // io::Error -> Box<dyn Error>
    ///         if text.is_empty() {
    ///             return Err(format!("{path} is empty").into());
    ///         }
    ///         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(text)
    ///     })?; // ScopeError<DynError> -> Box<dyn Error>
    ///     Ok(text)
    /// }
    /// let err = load("/no/such/file").unwrap_err();
    /// assert!(err.to_string().contains("No such file"));
    /// ```
    #[doc(alias = "anyhow")]
    pub fn scope_dyn<T, E, F>(body: F) -> Result<T, ScopeError<DynError>>
    where
        F: FnOnce(&mut ExitStack<'a>) -> Result<T, E>,
        E: Into<BoxError>,
    {
        ExitStack::new().run_dyn(body)
    }

    /// [`run`](Self::run) for a body whose error type is not an `Error`; see
    /// [`scope_dyn`](Self::scope_dyn).
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.callback(|| println!("pushed before"));
    /// let err = s.run_dyn(|_| Err::<(), _>("refused")).unwrap_err();
    /// assert_eq!(err.body().unwrap().to_string(), "refused");
    /// ```
    pub fn run_dyn<T, E, F>(&mut self, body: F) -> Result<T, ScopeError<DynError>>
    where
        F: FnOnce(&mut ExitStack<'a>) -> Result<T, E>,
        E: Into<BoxError>,
    {
        self.run_as(|s| body(s).map_err(DynError::new), |e| e.get_ref())
    }

    /// [`run`](Self::run), with `view` giving what exit callbacks see of the body's error.
    fn run_as<T, E, F>(
        &mut self,
        body: F,
        view: impl FnOnce(&E) -> &(dyn StdError + 'static),
    ) -> Result<T, ScopeError<E>>
    where
        F: FnOnce(&mut ExitStack<'a>) -> Result<T, E>,
        E: fmt::Display,
    {
        let result = match panic::catch_unwind(AssertUnwindSafe(|| body(self))) {
            Ok(result) => result,
            Err(payload) => {
                let done = self.run_entries(Outcome::Panic(&*payload));
                if let Some(e) = Error::from_errors(done.errors) {
                    report_dropped(
                        self.sink.as_ref(),
                        e,
                        "ExitStack::scope (resuming the body's panic)",
                    );
                }
                panic::resume_unwind(payload);
            }
        };
        const CONTEXT: &str = "ExitStack::scope (resuming a cleanup panic)";
        match result {
            Ok(value) => finish(
                self.run_entries(Outcome::Success),
                &|r| emit(self.sink.as_ref(), r),
                CONTEXT,
            )
            .map(|_| value)
            .map_err(ScopeError::Cleanup),
            Err(error) => {
                let done = self.run_entries(Outcome::Error(view(&error)));
                settle_body_error(done, &error, &|r| emit(self.sink.as_ref(), r), CONTEXT)
                    .scope_error(error)
            }
        }
    }
}

/// Treating a suppressed body error as success: `Result<T, ScopeError<E>>` →
/// `Result<Option<T>, ScopeError<E>>`, `None` when an exit callback suppressed the body's
/// error (the body produced no value), so that `?` fails only on errors that were not
/// suppressed.
///
/// ```
/// use tenure::{suppress, ExitStack};
/// use tenure::stack::ScopeResultExt;
/// let r = ExitStack::scope(|s| {
///     s.suppress(suppress::io_kind(std::io::ErrorKind::BrokenPipe));
///     Err::<u32, _>(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
/// });
/// assert_eq!(r.or_suppressed()?, None);
/// let r = ExitStack::scope(|_| Ok::<_, std::io::Error>(7));
/// assert_eq!(r.or_suppressed()?, Some(7));
/// # Ok::<(), tenure::ScopeError<std::io::Error>>(())
/// ```
pub trait ScopeResultExt<T, E> {
    /// `Ok(Some(value))` on success, `Ok(None)` when the body's error was suppressed, the
    /// error otherwise.
    fn or_suppressed(self) -> Result<Option<T>, ScopeError<E>>;
}

impl<T, E> ScopeResultExt<T, E> for Result<T, ScopeError<E>> {
    fn or_suppressed(self) -> Result<Option<T>, ScopeError<E>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(ScopeError::Suppressed(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
