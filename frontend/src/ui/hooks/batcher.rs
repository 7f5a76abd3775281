//! Socket events applied in batches: every dispatch renders the page, and a
//! burst's 50,000 echoes rendered one by one took 80 s in Chromium. The first
//! event after a quiet spell is applied at once, so that it is drawn in the
//! very next frame; events arriving after it wait for the next animation frame
//! and are applied there together, so a busy socket costs one render per frame.
//!
//! The batcher also measures how long each socket event waits to be drawn,
//! from its arrival (stamped in the listener) to the start of the frame that
//! paints it (`browser/draw_delays.rs` keeps the figures).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo::render::{request_animation_frame, AnimationFrame};
use yew::prelude::*;

use crate::browser::clock::monotonic_ms;
use crate::browser::draw_delays;
use crate::model::session::{Action, Session};

/// Queues actions from socket events and applies them together.
pub struct Batcher {
    dispatcher: UseReducerDispatcher<Session>,
    queue: RefCell<Vec<Action>>,
    /// When each socket event in the queue arrived (`performance.now()`).
    arriving: RefCell<Vec<f64>>,
    /// When each socket event applied since the last frame arrived: the next
    /// frame draws them.
    applied: RefCell<Vec<f64>>,
    /// The next frame, while events are coming in; dropping the batcher cancels it.
    frame: RefCell<Option<AnimationFrame>>,
    this: Weak<Batcher>,
}

impl Batcher {
    /// A batcher that applies actions through `dispatcher`.
    pub fn new(dispatcher: UseReducerDispatcher<Session>) -> Rc<Batcher> {
        Rc::new_cyclic(|this| Batcher {
            dispatcher,
            queue: RefCell::default(),
            arriving: RefCell::default(),
            applied: RefCell::default(),
            frame: RefCell::new(None),
            this: this.clone(),
        })
    }

    /// Applies `action` now if no frame is awaited (the socket was quiet),
    /// else with the others at the next frame.
    pub fn later(&self, action: Action) {
        if let Action::Record { at_ms, .. } = &action {
            self.arriving.borrow_mut().push(*at_ms);
        }
        self.queue.borrow_mut().push(action);
        if self.frame.borrow().is_none() {
            self.flush();
            self.await_frame();
        }
    }

    /// Applies `action` now, after everything queued, so the log keeps the order
    /// in which things happened.
    pub fn now(&self, action: Action) {
        self.flush();
        self.dispatcher.dispatch(action);
    }

    /// Applies everything queued. (Something is queued only while a frame is
    /// awaited, and that frame measures it.)
    pub fn flush(&self) {
        let actions = std::mem::take(&mut *self.queue.borrow_mut());
        self.applied.borrow_mut().append(&mut self.arriving.borrow_mut());
        if !actions.is_empty() {
            self.dispatcher.dispatch(Action::Batch(actions));
        }
    }

    fn await_frame(&self) {
        // A weak reference: the frame must not keep its owner alive.
        let this = self.this.clone();
        *self.frame.borrow_mut() = Some(request_animation_frame(move |_| {
            if let Some(this) = this.upgrade() {
                this.on_frame();
            }
        }));
    }

    /// At the start of a frame: what was applied since the last one is drawn
    /// in this frame, and so is what is queued, applied now (Yew renders it
    /// before the frame's paint). Events keep waiting for frames until one
    /// comes with nothing queued.
    fn on_frame(&self) {
        // Dropping the handle from inside its own callback is safe: wasm-bindgen
        // frees a closure only after the call running it returns.
        drop(self.frame.borrow_mut().take());
        let busy = !self.queue.borrow().is_empty();
        self.flush();
        draw_delays::record(monotonic_ms(), &std::mem::take(&mut *self.applied.borrow_mut()));
        if busy {
            self.await_frame();
        }
    }
}

/// The component's batcher, made once; unmounting drops it and its frame.
#[hook]
pub fn use_batcher(dispatcher: UseReducerDispatcher<Session>) -> Rc<Batcher> {
    (*use_memo((), move |()| Batcher::new(dispatcher))).clone()
}
