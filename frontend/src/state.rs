//! The page's state and every way it can change, as a pure reducer.

use std::rc::Rc;

use yew::Reducible;

use crate::event_log::{Entry, Record};
use crate::ready_state::ReadyState;

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The URL in the URL box.
    pub url: String,
    /// What is typed in the Message box.
    pub draft: String,
    /// The socket's `readyState`, or CLOSED when there is no socket.
    pub ready_state: ReadyState,
    /// The event log, oldest first.
    pub entries: Vec<Entry>,
    /// Why the last Connect or Send failed before any event could tell, if it did.
    pub notice: Option<String>,
    /// How many close events have been logged: a connection's last event.
    pub closes: u64,
    next_id: u64,
}

/// A change to the page's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The URL box was edited.
    EditUrl(String),
    /// The Message box was edited.
    EditDraft(String),
    /// Something happened on the socket (or was sent) at `time`; the socket is now
    /// in `ready_state`.
    Record { record: Record, time: String, ready_state: ReadyState },
    /// The socket's state changed without an event (Connect, Disconnect).
    ReadyState(ReadyState),
    /// The draft was sent: it is logged and the box is emptied.
    Sent { record: Record, time: String },
    /// Connect or Send failed before reaching the network, with the browser's words.
    Failed(String),
    /// The Clear button: empties the log.
    Clear,
}

impl Session {
    /// A fresh page whose URL box holds `url`.
    pub fn new(url: String) -> Session {
        Session {
            url,
            draft: String::new(),
            ready_state: ReadyState::Closed,
            entries: Vec::new(),
            notice: None,
            closes: 0,
            next_id: 1,
        }
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::EditUrl(url) => self.url = url,
            Action::EditDraft(draft) => self.draft = draft,
            Action::Record { record, time, ready_state } => {
                if matches!(record, Record::Close { .. }) {
                    self.closes += 1;
                }
                self.push(record, time);
                self.ready_state = ready_state;
            }
            Action::ReadyState(ready_state) => {
                if ready_state == ReadyState::Connecting {
                    self.notice = None;
                }
                self.ready_state = ready_state;
            }
            Action::Sent { record, time } => {
                self.push(record, time);
                self.draft.clear();
                self.notice = None;
            }
            Action::Failed(message) => self.notice = Some(message),
            Action::Clear => self.entries.clear(),
        }
    }

    fn push(&mut self, record: Record, time: String) {
        self.entries.push(Entry { id: self.next_id, time, record });
        self.next_id += 1;
    }
}

impl Reducible for Session {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut session = Rc::unwrap_or_clone(self);
        session.apply(action);
        Rc::new(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_log::Payload;

    fn run(actions: Vec<Action>) -> Session {
        let mut session = Session::new("ws://h/ws".into());
        for action in actions {
            session.apply(action);
        }
        session
    }

    fn at(record: Record, ready_state: ReadyState) -> Action {
        Action::Record { record, time: "00:00:00.000".into(), ready_state }
    }

    #[test]
    fn events_are_logged_in_order_with_increasing_ids() {
        let session = run(vec![
            Action::ReadyState(ReadyState::Connecting),
            at(
                Record::Open { url: "ws://h/ws".into(), protocol: String::new(), extensions: String::new() },
                ReadyState::Open,
            ),
            at(Record::Message { payload: Payload::Text("hi".into()), origin: "ws://h".into() }, ReadyState::Open),
            at(Record::Close { code: 1000, reason: String::new(), was_clean: true }, ReadyState::Closed),
        ]);
        let kinds: Vec<_> = session.entries.iter().map(|entry| entry.record.kind().label()).collect();
        assert_eq!(kinds, ["open", "message", "close"]);
        let ids: Vec<_> = session.entries.iter().map(|entry| entry.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(session.ready_state, ReadyState::Closed);
        assert_eq!(session.closes, 1);
    }

    #[test]
    fn an_error_event_is_not_the_end_of_a_connection() {
        // The error event already reports CLOSED; the close event comes after it.
        let session = run(vec![at(Record::Error, ReadyState::Closed)]);
        assert_eq!(session.closes, 0);
    }

    #[test]
    fn sending_logs_the_message_and_empties_the_box() {
        let session = run(vec![
            Action::EditDraft("hello".into()),
            Action::Sent { record: Record::Sent { payload: Payload::Text("hello".into()) }, time: "t".into() },
        ]);
        assert_eq!(session.draft, "");
        assert_eq!(session.entries[0].record.kind().label(), "sent");
    }

    #[test]
    fn a_failure_keeps_the_draft_and_shows_a_notice() {
        let session = run(vec![Action::EditDraft("keep me".into()), Action::Failed("not open".into())]);
        assert_eq!(session.draft, "keep me");
        assert_eq!(session.notice.as_deref(), Some("not open"));
    }

    #[test]
    fn clear_empties_the_log_but_ids_keep_growing() {
        let session =
            run(vec![at(Record::Error, ReadyState::Closed), Action::Clear, at(Record::Error, ReadyState::Closed)]);
        assert_eq!(session.entries.len(), 1);
        assert_eq!(session.entries[0].id, 2);
    }

    #[test]
    fn connecting_again_clears_the_last_notice() {
        let session = run(vec![Action::Failed("bad URL".into()), Action::ReadyState(ReadyState::Connecting)]);
        assert_eq!(session.notice, None);
    }
}
