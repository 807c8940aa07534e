//! [`Manager`] (async, pools [`Client`]s) and [`BlockingManager`] (pools
//! [`BlockingClient`]s), with the [`Reset`] policy they share.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tenure::error::BoxError;
use tenure::pool::{Checked, Work};
use tenure::tx::State;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, NoTls, Socket};

use crate::cancel::CancelStream;
use crate::error::{self, Error};
use crate::{BlockingClient, Client};

/// What a connection's session state goes through before it is lent again (beyond the
/// `ROLLBACK` an open or unknown transaction always gets).
///
/// `LISTEN` on a pooled connection delivers nothing (the connection task drops
/// notifications) and, without `Clean`, stays registered for the next holder: use a
/// dedicated connection for notifications.
///
/// ```
/// use tenure_postgres::Reset;
/// assert_eq!(Reset::default(), Reset::None);
/// assert!(Reset::Clean.statements().unwrap().starts_with("CLOSE ALL;"));
/// assert_eq!(Reset::Statements("RESET ALL".into()).statements(), Some("RESET ALL"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reset {
    /// Nothing: `SET`s, temp tables, advisory locks, `LISTEN`s and prepared statements of
    /// one holder are kept for the next (the fastest; right when every holder sets the
    /// session up alike or not at all).
    #[default]
    None,
    /// deadpool-postgres's `Clean`: `CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET
    /// ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES` —
    /// every holder's session state gone, the statement cache kept. One round trip per
    /// return.
    Clean,
    /// These statements (one round trip, the simple protocol). If they deallocate
    /// (`DISCARD ALL`, `DEALLOCATE`), the statement cache is cleared with them.
    Statements(String),
}

const CLEAN: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
                     SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES";

impl Reset {
    /// The statements a return runs, if any.
    ///
    /// ```
    /// assert_eq!(tenure_postgres::Reset::None.statements(), None);
    /// ```
    pub fn statements(&self) -> Option<&str> {
        match self {
            Reset::None => None,
            Reset::Clean => Some(CLEAN),
            Reset::Statements(s) => Some(s),
        }
    }

    pub(crate) fn deallocates(statements: &str) -> bool {
        let lower = statements.to_ascii_lowercase();
        lower.contains("deallocate") || lower.contains("discard all")
    }
}

/// The user's init hook for new async connections.
type InitHook = dyn for<'a> Fn(&'a Client) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>
    + Send
    + Sync;

/// The user's init hook for new blocking connections.
type BlockingInitHook = dyn Fn(&mut BlockingClient) -> Result<(), Error> + Send + Sync;

/// The TLS connectors a manager takes: tokio-postgres's `MakeTlsConnect` for its sockets,
/// cloneable and shareable ([`NoTls`] by default). The cancel request a reset sends uses
/// the same connector, over a socket of this crate's that waits for the server to act on
/// the request (so the connector's `TlsConnect` must take any stream, as `NoTls`'s and the
/// usual TLS crates' do).
pub trait Tls:
    MakeTlsConnect<Socket, Stream = Self::S, TlsConnect = Self::C> + Clone + Send + Sync + 'static
{
    #[doc(hidden)]
    type S: Send + Sync + 'static;
    #[doc(hidden)]
    type C: TlsConnect<Socket, Stream = Self::S, Future = Self::F>
        + TlsConnect<CancelStream, Future = Self::CF, Stream = Self::CS>
        + Send;
    #[doc(hidden)]
    type F: Send;
    #[doc(hidden)]
    type CF: Send;
    #[doc(hidden)]
    type CS: Send;
}

impl<T> Tls for T
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + Sync + 'static,
    T::TlsConnect: TlsConnect<CancelStream> + Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    <T::TlsConnect as TlsConnect<CancelStream>>::Future: Send,
    <T::TlsConnect as TlsConnect<CancelStream>>::Stream: Send,
{
    type S = T::Stream;
    type C = T::TlsConnect;
    type F = <T::TlsConnect as TlsConnect<Socket>>::Future;
    type CF = <T::TlsConnect as TlsConnect<CancelStream>>::Future;
    type CS = <T::TlsConnect as TlsConnect<CancelStream>>::Stream;
}

/// What both managers hold: the configuration (defaults filled in), the TLS connector, the
/// reset policy, the init hook (`H`: the async or the blocking one) and the server's name
/// for errors. The builder methods of [`Manager`] and [`BlockingManager`] are this type's.
struct Settings<T, H: ?Sized> {
    config: Config,
    tls: T,
    reset: Reset,
    init: Option<Arc<H>>,
    target: Arc<str>,
}

impl<H: ?Sized> Settings<NoTls, H> {
    fn new(config: Config) -> Self {
        Settings {
            target: error::target(&config),
            config: with_defaults(config),
            tls: NoTls,
            reset: Reset::None,
            init: None,
        }
    }
}

impl<T, H: ?Sized> Settings<T, H> {
    fn tls<U>(self, tls: U) -> Settings<U, H> {
        Settings {
            config: self.config,
            tls,
            reset: self.reset,
            init: self.init,
            target: self.target,
        }
    }

    fn debug(&self, name: &str, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(name)
            .field("target", &self.target)
            .field("reset", &self.reset)
            .finish_non_exhaustive()
    }
}

impl<T: Clone, H: ?Sized> Settings<T, H> {
    /// What a create needs, owned: it runs as a future or on a blocking thread.
    fn for_create(&self) -> (Config, T, Option<Arc<H>>) {
        (self.config.clone(), self.tls.clone(), self.init.clone())
    }
}

/// Fills in the defaults a pooled connection wants when the config leaves them unset: a
/// `connect_timeout` (10 s), TCP keepalives (on, idle 60 s) and a `tcp_user_timeout` (30 s),
/// so a peer that vanished is noticed.
fn with_defaults(mut config: Config) -> Config {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_secs(30));
    }
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(60));
    config
}

/// The async manager: a [`tenure::pool::Pool`] of [`Client`]s.
///
/// - `create` connects (with `connect_timeout`, TCP keepalives and `tcp_user_timeout` on by
///   default) and runs the init hook;
/// - `validate` is one `Sync` round trip, bounded by the pool's `check_timeout`;
/// - `is_broken`: the connection is known dead or its socket closed;
/// - `needs_reset`: a transaction open or unknown, a request abandoned, or a [`Reset`]
///   policy; `reset` (bounded by the pool's `return_timeout`, the slot held meanwhile)
///   sends a cancel request when a request was abandoned — only here, before anyone else
///   holds the connection —, then `ROLLBACK` when the state is not `Idle`, then the
///   policy's statements, and waits for the replies;
/// - `close` drops the client and waits for the connection task (5 s), then aborts it.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tenure::pool::{Pool, PoolConfig};
/// let config: tokio_postgres::Config = "host=localhost user=postgres".parse()?;
/// let pool = Pool::builder(tenure_postgres::Manager::new(config))
///     .config(PoolConfig { max_size: 8, ..PoolConfig::default() })
///     .build()?;
/// let client = pool.get().await?;
/// let one: i32 = client.query_one("SELECT 1", &[]).await?.get(0);
/// # Ok(()) }
/// ```
pub struct Manager<T = NoTls> {
    settings: Settings<T, InitHook>,
}

impl Manager<NoTls> {
    /// A manager for `config`, without TLS, with no reset policy and no init hook.
    ///
    /// ```
    /// let m = tenure_postgres::Manager::new("host=localhost user=app".parse().unwrap());
    /// assert_eq!(m.config().get_connect_timeout(), Some(&std::time::Duration::from_secs(10)));
    /// ```
    pub fn new(config: Config) -> Self {
        Manager {
            settings: Settings::new(config),
        }
    }
}

impl<T: Tls> Manager<T> {
    /// The same manager with another TLS connector.
    ///
    /// ```
    /// let m = tenure_postgres::Manager::new(Default::default()).tls(tokio_postgres::NoTls);
    /// # drop(m);
    /// ```
    pub fn tls<U: Tls>(self, tls: U) -> Manager<U> {
        Manager {
            settings: self.settings.tls(tls),
        }
    }

    /// What a returned connection goes through (see [`Reset`]).
    ///
    /// ```
    /// let m = tenure_postgres::Manager::new(Default::default()).reset(tenure_postgres::Reset::Clean);
    /// # drop(m);
    /// ```
    pub fn reset(mut self, reset: Reset) -> Self {
        self.settings.reset = reset;
        self
    }

    /// Runs `hook` on every new connection before it is lent (session settings, say); an
    /// error fails the create.
    ///
    /// ```
    /// let m = tenure_postgres::Manager::new(Default::default())
    ///     .init(|client| Box::pin(client.batch_execute("SET TIME ZONE 'UTC'")));
    /// # drop(m);
    /// ```
    pub fn init<F>(mut self, hook: F) -> Self
    where
        F: for<'a> Fn(&'a Client) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>
            + Send
            + Sync
            + 'static,
    {
        self.settings.init = Some(Arc::new(hook));
        self
    }

    /// The connection configuration, defaults filled in (its `Debug` redacts the password).
    ///
    /// ```
    /// let m = tenure_postgres::Manager::new("user=app password=secret".parse().unwrap());
    /// assert!(!format!("{:?}", m.config()).contains("secret"));
    /// ```
    pub fn config(&self) -> &Config {
        &self.settings.config
    }
}

impl<T> std::fmt::Debug for Manager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.debug("Manager", f)
    }
}

/// The reset: cancel an abandoned request, roll back, run the policy — each step a round
/// trip queued behind whatever the connection was still doing, so when the last reply is
/// in, nothing of the last holder's is left running.
///
/// A cancel request is a signal to the backend: one that arrives while the backend is
/// between statements but not waiting for the next (handling a `Sync`, a `Close`) stays
/// pending and would cancel the next statement that checks for interrupts — the next
/// holder's. So after a cancel the reset runs `SELECT 1` (which checks), absorbing such a
/// late cancel as its own `57014` and running again, before the connection goes back.
async fn reset_client<T: Tls>(client: &Client, tls: T, policy: Option<&str>) -> Result<(), Error> {
    let abandoned = client.c.track.abandoned();
    if abandoned {
        client.cancel(tls).await?;
    }
    if !client.c.track.state().is_idle() {
        absorbing_cancel(client, "ROLLBACK").await?;
        client.c.track.set_state(State::Idle);
    }
    if let Some(statements) = policy {
        absorbing_cancel(client, statements).await?;
        if Reset::deallocates(statements) {
            client.c.cache.clear();
        }
    }
    if abandoned {
        absorbing_cancel(client, "SELECT 1").await?;
    }
    client.c.track.clear_abandoned();
    Ok(())
}

/// Runs `sql`, again when our own cancel request cancelled it (at most three tries).
async fn absorbing_cancel(client: &Client, sql: &str) -> Result<(), Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        match client.reset_statements(sql).await {
            Err(e) if tries < 3 && e.code() == Some(&SqlState::QUERY_CANCELED) => continue,
            result => return result,
        }
    }
}

impl<T: Tls> tenure::pool::Manager for Manager<T> {
    type Resource = Client;
    type Error = Error;
    const ASYNC: bool = true;

    fn create(&self) -> Work<Result<Client, Error>> {
        let (config, tls, init) = self.settings.for_create();
        Work::future(async move {
            let client = Client::connect(&config, tls).await?;
            if let Some(init) = init {
                init(&client).await?;
            }
            Ok(client)
        })
    }

    fn close(&self, client: Client) -> Work<Result<(), BoxError>> {
        Work::future(async move {
            tenure::AsyncClose::close(client)
                .await
                .map_err(BoxError::from)
        })
    }

    fn validate(&self, client: Client) -> Checked<Self> {
        // Bounded by the pool's `check_timeout`: past it the pool drops this future and the
        // client with it (its connection task aborted).
        Work::future(async move {
            let result = client.check_connection().await;
            (client, result)
        })
    }

    fn is_broken(&self, client: &mut Client) -> bool {
        client.is_broken()
    }

    fn needs_reset(&self, client: &Client) -> bool {
        !client.c.track.state().is_idle()
            || client.c.track.abandoned()
            || self.settings.reset != Reset::None
    }

    fn reset(&self, client: Client) -> Checked<Self> {
        let tls = self.settings.tls.clone();
        let policy = self.settings.reset.clone();
        Work::future(async move {
            let result = reset_client(&client, tls, policy.statements()).await;
            (client, result)
        })
    }
}

/// The blocking manager: a [`tenure::pool::Pool`] of [`BlockingClient`]s.
///
/// - `create` connects (the same defaults as [`Manager`]) and runs the init hook;
/// - `validate` is one round trip (an empty query), bounded by the pool's `check_timeout`;
/// - `is_broken`: known dead, socket closed, **or a transaction not known to be over** — a
///   dirty blocking connection is retired (closing it ends the server's transaction)
///   rather than reset, since a blocking reset ties up a thread nothing can preempt;
/// - a [`Reset`] policy runs its statements on return (blocking work);
/// - `close` is `postgres::Client::close()`, its error reported.
///
/// A `postgres::Client` drives a runtime of its own: use leases on plain threads or in
/// `spawn_blocking`, never on a tokio worker (the pool's own blocking work already runs
/// there).
///
/// ```no_run
/// use tenure::pool::Pool;
/// let config: tokio_postgres::Config = "host=localhost user=postgres".parse()?;
/// let pool = Pool::builder(tenure_postgres::BlockingManager::new(config)).build()?;
/// let mut client = pool.get_blocking()?;
/// let one: i32 = client.query_one("SELECT 1", &[])?.get(0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BlockingManager<T = NoTls> {
    settings: Settings<T, BlockingInitHook>,
}

impl BlockingManager<NoTls> {
    /// A manager for `config`, without TLS, with no reset policy and no init hook.
    ///
    /// ```
    /// let m = tenure_postgres::BlockingManager::new("host=localhost user=app".parse().unwrap());
    /// assert!(m.config().get_keepalives());
    /// ```
    pub fn new(config: Config) -> Self {
        BlockingManager {
            settings: Settings::new(config),
        }
    }
}

impl<T: Tls> BlockingManager<T> {
    /// The same manager with another TLS connector.
    ///
    /// ```
    /// let m = tenure_postgres::BlockingManager::new(Default::default()).tls(postgres::NoTls);
    /// # drop(m);
    /// ```
    pub fn tls<U: Tls>(self, tls: U) -> BlockingManager<U> {
        BlockingManager {
            settings: self.settings.tls(tls),
        }
    }

    /// What a returned connection goes through (see [`Reset`]).
    ///
    /// ```
    /// let m = tenure_postgres::BlockingManager::new(Default::default()).reset(tenure_postgres::Reset::Clean);
    /// # drop(m);
    /// ```
    pub fn reset(mut self, reset: Reset) -> Self {
        self.settings.reset = reset;
        self
    }

    /// Runs `hook` on every new connection before it is lent; an error fails the create.
    ///
    /// ```
    /// let m = tenure_postgres::BlockingManager::new(Default::default())
    ///     .init(|client| client.batch_execute("SET TIME ZONE 'UTC'"));
    /// # drop(m);
    /// ```
    pub fn init<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut BlockingClient) -> Result<(), Error> + Send + Sync + 'static,
    {
        self.settings.init = Some(Arc::new(hook));
        self
    }

    /// The connection configuration, defaults filled in.
    ///
    /// ```
    /// let m = tenure_postgres::BlockingManager::new(Default::default());
    /// assert!(m.config().get_tcp_user_timeout().is_some());
    /// ```
    pub fn config(&self) -> &Config {
        &self.settings.config
    }
}

impl<T> std::fmt::Debug for BlockingManager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.debug("BlockingManager", f)
    }
}

impl<T: Tls> tenure::pool::Manager for BlockingManager<T> {
    type Resource = BlockingClient;
    type Error = Error;
    const ASYNC: bool = false;

    fn create(&self) -> Work<Result<BlockingClient, Error>> {
        let (config, tls, init) = self.settings.for_create();
        Work::blocking(move || {
            let mut client = BlockingClient::connect(&config, tls)?;
            if let Some(init) = init {
                init(&mut client)?;
            }
            Ok(client)
        })
    }

    fn close(&self, client: BlockingClient) -> Work<Result<(), BoxError>> {
        Work::blocking(move || tenure::Close::close(client).map_err(BoxError::from))
    }

    fn validate(&self, mut client: BlockingClient) -> Checked<Self> {
        // Bounded by the pool's `check_timeout`: past it the pool frees the slot and
        // leaves this thread to finish; a server that never answers is noticed by the
        // socket (`tcp_user_timeout`, keepalives), and the client handed back late is closed.
        Work::blocking(move || {
            let result = client.check_connection();
            (client, result)
        })
    }

    fn is_broken(&self, client: &mut BlockingClient) -> bool {
        client.is_broken() || !client.c.track.state().is_idle()
    }

    fn needs_reset(&self, _client: &BlockingClient) -> bool {
        self.settings.reset != Reset::None
    }

    fn reset(&self, mut client: BlockingClient) -> Checked<Self> {
        let policy = self.settings.reset.clone();
        Work::blocking(move || {
            let result = match policy.statements() {
                Some(statements) => client.reset_statements(statements),
                None => Ok(()),
            };
            (client, result)
        })
    }
}
