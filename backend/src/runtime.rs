//! How the server is laid out on threads: one single-threaded tokio runtime
//! per serving thread (by default one per CPU), all accepting from the one
//! listening socket.
//!
//! Why not tokio's work-stealing runtime: under overload it is unfair. A
//! worker puts the tasks it wakes in its own run queue, the newest in a LIFO
//! slot that runs next; what overflows that queue waits in a global queue
//! that a busy worker visits only every few dozen polls. Measured with every
//! connection keeping one message in flight and the server held to a 25 % CPU
//! quota (the overload scenario of BENCHMARKS.md, 1 December 2026), the
//! server as it was (tokio's defaults) answered at p99 in 576 ms with 1,000
//! connections and 1.9 s with 10,000, where the Node.js peer took 92 ms and
//! 1 s, and the busiest connection got three times (1,000) and a hundred
//! times (10,000) the echoes of the least served. Work-stealing variants
//! were fair on a quiet machine but not on a busy one: tokio's defaults with
//! the accept loop on a worker gave one connection five times another's
//! echoes, and visiting the global queue on every poll
//! (`global_queue_interval(1)`) starved the local queue: some connections
//! waited 11 s. A current-thread runtime runs woken tasks in the order they
//! woke, and in every run each connection got within one or two echoes of
//! all the others; p99 was 83 ms (1,000) and 534 ms (10,000).
//!
//! Each runtime accepts from the same listening socket (through a descriptor
//! of its own, registered with its own event loop) and serves, to their end,
//! the connections it accepted; what must be one for the whole server
//! (connection limits, metrics, the shutdown) is shared by [`Server`]. A new
//! connection goes to whichever runtime gets to it first, which is a less
//! busy one, and connections are taken in the order they arrived. One
//! listening socket per runtime (`SO_REUSEPORT`) was tried too: the kernel
//! then hands each connection to a runtime by a hash of its addresses,
//! whatever that runtime's load, and one runtime can take a connection while
//! older ones still wait in another's queue; after a burst of stalled TLS
//! handshakes, the rule that sheds the connection idle longest at the limit
//! then closed a well-behaved client that came after them (in about half the
//! runs of `tests/abuse_http.rs` with two threads). The cost of one socket is
//! that every runtime wakes for each new connection and all but one find
//! nothing to accept; with two threads, handshakes per second did not differ
//! measurably.
//!
//! There is no stealing between threads: a thread whose connections happen
//! to be busier is not helped by an idle one, except that the idle one takes
//! more of the new connections.

use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::thread::JoinHandle;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::Config;
use crate::Server;

/// Serves `config` on [`threads`] runtimes until `shutdown` completes and the
/// graceful shutdown after it is over. The calling thread is one of them.
pub fn serve(config: Config, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let threads = threads(&config);
    let runtimes = PerCore::start(threads)?;
    let handles = runtimes.handles();
    runtimes.block_on(async {
        info!(threads, "serving on {threads} threads, each with its own event loop");
        Server::bind_on(config, &handles).await?.run(shutdown).await
    })
}

/// How many threads serve: `--threads`, or one per CPU this process may use
/// (the standard library counts its CPU affinity and cgroup quota).
pub fn threads(config: &Config) -> usize {
    config.threads.or_else(|| std::thread::available_parallelism().ok()).map_or(1, NonZeroUsize::get)
}

/// Single-threaded tokio runtimes, one per serving thread: the calling
/// thread's, driven by [`PerCore::block_on`], and one on each thread started
/// here. Dropping this stops those threads, and with their runtimes whatever
/// tasks they still had.
pub struct PerCore {
    local: Runtime,
    others: Vec<(Handle, JoinHandle<()>)>,
    stop: CancellationToken,
}

impl PerCore {
    /// A runtime for the calling thread and `threads - 1` threads with one each.
    pub fn start(threads: usize) -> io::Result<PerCore> {
        // Built up in place, so that if a later thread fails to start, the
        // drop stops the earlier ones.
        let mut runtimes = PerCore { local: runtime()?, others: Vec::new(), stop: CancellationToken::new() };
        for index in 1..threads {
            let (started, handle) = std::sync::mpsc::channel();
            let stop = runtimes.stop.clone();
            let thread = std::thread::Builder::new().name(format!("serve-{index}")).spawn(move || {
                let runtime = match runtime() {
                    Ok(runtime) => runtime,
                    Err(err) => return drop(started.send(Err(err))),
                };
                let _ = started.send(Ok(runtime.handle().clone()));
                runtime.block_on(stop.cancelled());
            })?;
            let handle = handle.recv().unwrap_or_else(|_| Err(io::Error::other("a serving thread ended at start")));
            match handle {
                Ok(handle) => runtimes.others.push((handle, thread)),
                Err(err) => {
                    let _ = thread.join();
                    return Err(err);
                }
            }
        }
        Ok(runtimes)
    }

    /// Every runtime's handle, the calling thread's first.
    pub fn handles(&self) -> Vec<Handle> {
        std::iter::once(self.local.handle().clone())
            .chain(self.others.iter().map(|(handle, _)| handle.clone()))
            .collect()
    }

    /// Runs `future` to completion on the calling thread's runtime, which
    /// meanwhile also runs the tasks spawned on it.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.local.block_on(future)
    }
}

impl Drop for PerCore {
    fn drop(&mut self) {
        self.stop.cancel();
        for (_, thread) in self.others.drain(..) {
            let _ = thread.join();
        }
    }
}

/// A single-threaded runtime with I/O and timers.
fn runtime() -> io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}
