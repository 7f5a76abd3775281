//! Socket events applied in batches: every dispatch renders the page, and a
//! burst's 50,000 echoes rendered one by one took 80 s in Chromium. Events that
//! arriving within one frame (16 ms) are queued and applied by one action.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo::timers::callback::Timeout;
use yew::prelude::*;

use crate::state::{Action, Session};

/// How long events are gathered before they are applied: one frame, so a
/// busy socket costs at most one render per frame and a quiet one no visible delay.
/// (Round-trip times are stamped when each event arrives, not when it is applied.)
pub const BATCH_MS: u32 = 16;

/// Queues actions from socket events and applies them together.
pub struct Batcher {
    dispatcher: UseReducerDispatcher<Session>,
    queue: RefCell<Vec<Action>>,
    /// The pending flush; dropping the batcher clears it.
    timer: RefCell<Option<Timeout>>,
    this: Weak<Batcher>,
}

impl Batcher {
    /// A batcher that applies actions through `dispatcher`.
    pub fn new(dispatcher: UseReducerDispatcher<Session>) -> Rc<Batcher> {
        Rc::new_cyclic(|this| Batcher {
            dispatcher,
            queue: RefCell::new(Vec::new()),
            timer: RefCell::new(None),
            this: this.clone(),
        })
    }

    /// Applies `action` with the others that arrive within [`BATCH_MS`].
    pub fn later(&self, action: Action) {
        self.queue.borrow_mut().push(action);
        let mut timer = self.timer.borrow_mut();
        if timer.is_none() {
            // A weak reference: the timer must not keep its owner alive.
            let this = self.this.clone();
            *timer = Some(Timeout::new(BATCH_MS, move || {
                if let Some(this) = this.upgrade() {
                    this.flush();
                }
            }));
        }
    }

    /// Applies `action` now, after everything queued, so the log keeps the order
    /// in which things happened.
    pub fn now(&self, action: Action) {
        self.flush();
        self.dispatcher.dispatch(action);
    }

    /// Applies everything queued.
    pub fn flush(&self) {
        // Dropping the timer from inside its own callback is safe: wasm-bindgen
        // frees a closure only after the call running it returns.
        drop(self.timer.borrow_mut().take());
        let actions = std::mem::take(&mut *self.queue.borrow_mut());
        if !actions.is_empty() {
            self.dispatcher.dispatch(Action::Batch(actions));
        }
    }
}

/// The component's batcher, made once; unmounting drops it and its timer.
#[hook]
pub fn use_batcher(dispatcher: UseReducerDispatcher<Session>) -> Rc<Batcher> {
    (*use_memo((), move |()| Batcher::new(dispatcher))).clone()
}
