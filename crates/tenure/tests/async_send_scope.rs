//! The futures of `async_scope`, `run` and `close` are `Send`, so they can run inside
//! `tokio::spawn` (and their pending cleanup can be handed to the runtime).
#![cfg(feature = "tokio")]

use tenure::AsyncExitStack;

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_runs_inside_spawn() {
    let handle = tokio::spawn(assert_send(AsyncExitStack::scope(async |s| {
        let v = s.enter(tenure::close::Dropping(vec![1, 2, 3]));
        s.async_callback(|| async { tokio::task::yield_now().await });
        tokio::task::yield_now().await;
        Ok::<_, std::io::Error>(s[v].len())
    })));
    assert_eq!(handle.await.unwrap().unwrap(), 3);
}

#[tokio::test]
async fn close_runs_inside_spawn() {
    let mut stack = AsyncExitStack::new();
    stack.async_callback(|| async {});
    let r = tokio::spawn(assert_send(async move { stack.unwind().await })).await;
    r.unwrap().unwrap();
}
