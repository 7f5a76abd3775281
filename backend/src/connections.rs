//! The connections that are not WebSockets (yet): TLS handshakes, HTTP requests
//! and idle keep-alive connections. Each holds a file descriptor and some memory
//! for as long as its client likes, so the server bounds how many there are and
//! how long each may take:
//!
//! - At most `--max-http-connections` are open. A connection arriving at that
//!   limit closes the one that has made no progress for longest (whose current
//!   phase began first). A client holding connections open slowly then keeps
//!   each one only until enough new ones arrive, while a real client needs a
//!   connection for a millisecond.
//! - Each phase has a deadline: from the accept to the end of the first request
//!   head (`--header-timeout`, the TLS handshake included); from a head to its
//!   answer (`--body-timeout`: the request handler answers 408 then, and the cut
//!   here, one header timeout later, is a backstop); from an answer to the end
//!   of the next head (`--idle-timeout`).
//!
//! A connection leaves the count when it closes or becomes a WebSocket, which
//! `--max-connections` counts instead.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, SizeHint};
use tokio_util::sync::CancellationToken;

use crate::metrics::{CutReason, Metrics};

/// The deadlines of each phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) header: Duration,
    pub(crate) body: Duration,
    pub(crate) idle: Duration,
}

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Accepted: the TLS handshake and the first request head are under way.
    Opening = 0,
    /// A request head has arrived; its body is being read or its answer made.
    Request = 1,
    /// An answer has been handed over; the next request head is awaited.
    Idle = 2,
}

impl Phase {
    fn from_bits(bits: u64) -> Phase {
        match bits & 0b11 {
            0 => Phase::Opening,
            1 => Phase::Request,
            _ => Phase::Idle,
        }
    }

    /// The phase's name, as the logs say it.
    pub(crate) fn as_str(self) -> &'static str {
        self.cut_reason().as_str()
    }

    /// Why a connection cut in this phase was cut, as the metrics count it.
    fn cut_reason(self) -> CutReason {
        match self {
            Phase::Opening => CutReason::Opening,
            Phase::Request => CutReason::Request,
            Phase::Idle => CutReason::Idle,
        }
    }

    fn limit(self, timeouts: &Timeouts) -> Duration {
        match self {
            Phase::Opening => timeouts.header,
            Phase::Request => timeouts.body.saturating_add(timeouts.header),
            Phase::Idle => timeouts.idle,
        }
    }
}

/// Why a connection was closed by the server before it ended by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Its phase took longer than that phase's limit.
    TimedOut(Phase),
    /// The limit was reached and it had made no progress for longest.
    Shed,
}

/// One connection's phase and when it began, shared by its task, its request
/// handler and its response bodies (all of which run on the connection's task).
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    /// Microseconds since `epoch` when the phase began, shifted left by two,
    /// with the phase in the low bits: one atomic, so never read half-updated.
    state: AtomicU64,
    shed: CancellationToken,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        let activity = Activity { epoch, state: AtomicU64::new(0), shed: CancellationToken::new() };
        activity.enter(Phase::Opening);
        activity
    }

    /// Starts `phase` now.
    pub(crate) fn enter(&self, phase: Phase) {
        let micros = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX >> 2);
        self.state.store((micros << 2) | phase as u64, Ordering::Relaxed);
    }

    fn phase(&self) -> Phase {
        Phase::from_bits(self.state.load(Ordering::Relaxed))
    }

    /// When the current phase began, in microseconds since the epoch.
    fn since(&self) -> u64 {
        self.state.load(Ordering::Relaxed) >> 2
    }

    fn deadline(&self, timeouts: &Timeouts) -> tokio::time::Instant {
        let began = self.epoch + Duration::from_micros(self.since());
        tokio::time::Instant::from_std(began) + self.phase().limit(timeouts)
    }
}

/// Every open connection that is not a WebSocket.
#[derive(Debug)]
pub(crate) struct HttpConnections {
    limit: usize,
    timeouts: Timeouts,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
    metrics: Arc<Metrics>,
}

impl HttpConnections {
    pub(crate) fn new(limit: u32, timeouts: Timeouts, metrics: Arc<Metrics>) -> HttpConnections {
        HttpConnections {
            limit: usize::try_from(limit).unwrap_or(usize::MAX).max(1),
            timeouts,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// Counts a newly accepted connection, first closing the least active one
    /// when the limit is reached.
    pub(crate) fn register(self: &Arc<Self>) -> Registered {
        let activity = Arc::new(Activity::new(self.epoch));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            if open.len() >= self.limit {
                shed_least_active(&mut open, &self.metrics);
            }
            open.insert(id, Arc::clone(&activity));
        }
        self.metrics.http_connection_opened();
        Registered { registry: Arc::clone(self), id, activity }
    }

    /// Closes the connection that has made no progress for longest, if there is
    /// one: the accept loop's way to get a descriptor back when it has none.
    pub(crate) fn shed_one(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        shed_least_active(&mut open, &self.metrics)
    }
}

/// Removes the connection whose phase began first and tells its task to close it.
/// A scan, because it runs only at the limit and the limit is about a thousand.
fn shed_least_active(open: &mut HashMap<u64, Arc<Activity>>, metrics: &Metrics) -> bool {
    let Some(id) = open.iter().min_by_key(|(id, activity)| (activity.since(), **id)).map(|(id, _)| *id) else {
        return false;
    };
    if let Some(activity) = open.remove(&id) {
        activity.shed.cancel();
        metrics.http_connection_cut(CutReason::Shed);
    }
    true
}

/// A counted connection; it stops counting when this is dropped.
#[derive(Debug)]
pub(crate) struct Registered {
    registry: Arc<HttpConnections>,
    id: u64,
    activity: Arc<Activity>,
}

impl Registered {
    /// The connection's activity, for its request handler and response bodies.
    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Drives `work` (everything the connection does before it closes or
    /// upgrades) unless the current phase passes its deadline or the connection
    /// is shed first; dropping `work` then closes the connection.
    pub(crate) async fn watch<F: Future<Output = ()>>(&self, work: F) -> Result<(), Cut> {
        let timeouts = self.registry.timeouts;
        let activity = &*self.activity;
        let mut deadline = activity.deadline(&timeouts);
        let sleep = tokio::time::sleep_until(deadline);
        let shed = activity.shed.cancelled();
        tokio::pin!(work, sleep, shed);
        std::future::poll_fn(|cx| {
            if work.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            if shed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Cut::Shed));
            }
            // Every phase change happens while `work` is polled (on this task),
            // so checking the deadline right after polling it never misses one.
            let now_due = activity.deadline(&timeouts);
            if now_due != deadline {
                deadline = now_due;
                sleep.as_mut().reset(deadline);
            }
            match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let phase = activity.phase();
                    self.registry.metrics.http_connection_cut(phase.cut_reason());
                    Poll::Ready(Err(Cut::TimedOut(phase)))
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.remove(&self.id);
        drop(open);
        self.registry.metrics.http_connection_closed();
    }
}

/// A response body that marks its connection idle once hyper has taken all of
/// it: hyper drops a body when it has read its last frame (or when it needs no
/// body at all), before it reads the next request.
#[derive(Debug)]
pub(crate) struct Answered<B> {
    body: B,
    activity: Arc<Activity>,
}

impl<B> Answered<B> {
    pub(crate) fn new(body: B, activity: Arc<Activity>) -> Answered<B> {
        Answered { body, activity }
    }
}

impl<B: Body + Unpin> Body for Answered<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<B> Drop for Answered<B> {
    fn drop(&mut self) {
        self.activity.enter(Phase::Idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(limit: u32) -> Arc<HttpConnections> {
        let timeouts = Timeouts {
            header: Duration::from_millis(100),
            body: Duration::from_millis(200),
            idle: Duration::from_millis(300),
        };
        let metrics = Metrics::new(Arc::new(crate::budget::MemoryBudget::new(0)));
        Arc::new(HttpConnections::new(limit, timeouts, Arc::new(metrics)))
    }

    fn count(registry: &HttpConnections) -> usize {
        registry.open.lock().unwrap().len()
    }

    #[test]
    fn at_the_limit_the_connection_idle_longest_is_shed() {
        let registry = registry(3);
        let oldest = registry.register();
        std::thread::sleep(Duration::from_millis(2));
        let middle = registry.register();
        std::thread::sleep(Duration::from_millis(2));
        let newest = registry.register();
        std::thread::sleep(Duration::from_millis(2));
        // The oldest connection sends a request: it is now the most recently active.
        oldest.activity().enter(Phase::Request);
        let arriving = registry.register();
        assert_eq!(count(&registry), 3);
        assert!(middle.activity().shed.is_cancelled(), "the connection idle longest goes");
        for kept in [&oldest, &newest, &arriving] {
            assert!(!kept.activity().shed.is_cancelled());
        }
        drop(middle);
        assert_eq!(count(&registry), 3, "a shed connection was already uncounted");
        assert!(registry.shed_one());
        assert!(newest.activity().shed.is_cancelled());
        drop((oldest, newest, arriving));
        assert_eq!(count(&registry), 0);
        assert!(!registry.shed_one(), "nothing left to shed");
    }

    #[test]
    fn each_phase_has_its_own_deadline() {
        let registry = registry(1);
        let connection = registry.register();
        let activity = connection.activity();
        let timeouts = registry.timeouts;
        for (phase, limit) in [(Phase::Opening, 100), (Phase::Request, 300), (Phase::Idle, 300), (Phase::Opening, 100)]
        {
            activity.enter(phase);
            let began = activity.epoch + Duration::from_micros(activity.since());
            assert_eq!(activity.phase(), phase);
            let expected = tokio::time::Instant::from_std(began) + Duration::from_millis(limit);
            assert_eq!(activity.deadline(&timeouts), expected, "{phase:?}");
        }
    }

    #[tokio::test]
    async fn a_connection_is_cut_when_its_phase_overruns_or_it_is_shed() {
        let registry = registry(1);
        let connection = registry.register();
        let cut = connection.watch(std::future::pending::<()>()).await;
        assert_eq!(cut, Err(Cut::TimedOut(Phase::Opening)));
        let finished = connection.watch(async {}).await;
        assert_eq!(finished, Ok(()));
        let _arriving = registry.register();
        assert_eq!(connection.watch(std::future::pending::<()>()).await, Err(Cut::Shed));
    }
}
