//! The explanations' prose (`frontend/explain.html`), fetched once for the
//! whole page the first time any part asks for it, and shared by every tab.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use crate::browser::fetch::Fetcher;
use crate::model::explain::Texts;

/// Where the prose fetch stands, for the whole page (every tab shares it).
enum Loading {
    Idle,
    /// Out; these components are drawn again when it settles.
    Waiting(Vec<UseForceUpdateHandle>),
    Done(Result<Rc<Texts>, String>),
}

thread_local! {
    static TEXTS: RefCell<Loading> = const { RefCell::new(Loading::Idle) };
}

/// The explanations' prose when `wanted`: `None` while it is being fetched (the
/// first time; the component is drawn again when it arrives), or why it could
/// not be.
#[hook]
pub fn use_texts(wanted: bool) -> Option<Result<Rc<Texts>, String>> {
    let redraw = use_force_update();
    if !wanted {
        return None;
    }
    TEXTS.with(|cell| {
        let mut state = cell.borrow_mut();
        match &mut *state {
            Loading::Done(done) => return Some(done.clone()),
            Loading::Waiting(waiting) => waiting.push(redraw),
            Loading::Idle => {
                *state = Loading::Waiting(vec![redraw]);
                // The fetcher keeps itself alive until the fetch settles.
                Fetcher::new(Box::new(|_, text| settle(Ok(Rc::new(Texts(text))))), Rc::new(|why| settle(Err(why))))
                    .fetch("/explain.html", None);
            }
        }
        None
    })
}

fn settle(result: Result<Rc<Texts>, String>) {
    let before = TEXTS.with(|cell| cell.replace(Loading::Done(result)));
    if let Loading::Waiting(waiting) = before {
        for redraw in waiting {
            redraw.force_update();
        }
    }
}
