//! Echo pairing: on one connection the k-th message received answers the k-th
//! message sent, because the echo server answers in order. Server reports and
//! what a lab `/fragment` command asks for answer nothing sent, and a lab
//! command gets no echo at all.

use crate::model::lab;
use crate::model::log::{Link, Payload};
use crate::util::chunked::Chunked;

/// Which sends on the current connection have been answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pairing {
    /// Sends on the current connection (entry id, time sent), oldest first.
    in_flight: Chunked<(u64, f64)>,
    /// How many of `in_flight` have been echoed.
    answered: usize,
    /// Whether the open connection is to the lab, where a text starting with `/`
    /// is a command and gets no echo.
    lab: bool,
    /// Texts that lab `/fragment` commands will make the server send, oldest first.
    replies: Vec<String>,
}

impl Pairing {
    /// Sends still waiting for their echo.
    pub fn pending(&self) -> usize {
        self.in_flight.len() - self.answered
    }

    /// Whether the connection opened to the lab.
    pub fn on_lab(&self) -> bool {
        self.lab
    }

    /// A new connection is opening: nothing sent on it yet.
    pub(super) fn start(&mut self) {
        self.in_flight.clear();
        self.answered = 0;
        self.lab = false;
        self.replies.clear();
    }

    /// The connection to `url` opened.
    pub(super) fn opened(&mut self, url: &str) {
        self.lab = lab::is_lab_url(url);
    }

    /// `payload` was sent as entry `id` at `at_ms`: how the entry is linked.
    pub(super) fn sent(&mut self, id: u64, at_ms: f64, payload: &Payload) -> Link {
        // The lab obeys a command instead of echoing it.
        if let Payload::Text(text) = payload {
            if self.lab && lab::is_command(text) {
                self.replies.extend(lab::fragment_reply(text).map(str::to_owned));
                return Link::None;
            }
        }
        self.in_flight.push((id, at_ms));
        Link::Pending
    }

    /// A message that is an echo arrived: the send it answers (entry id, time
    /// sent), or `None` when nothing is waiting.
    pub(super) fn answer(&mut self) -> Option<(u64, f64)> {
        let answered = *self.in_flight.get(self.answered)?;
        self.answered += 1;
        Some(answered)
    }

    /// Whether a received text is the message a lab `/fragment` command asked
    /// for, which is then crossed off. A fragment's text that equals the next
    /// echo due is taken as that echo, since the two cannot be told apart:
    /// `sent_as(id)` says whether send `id` sent exactly this text.
    pub(super) fn take_fragment_reply(&mut self, text: &str, sent_as: impl FnOnce(u64) -> bool) -> bool {
        if self.replies.first().map(String::as_str) != Some(text) {
            return false;
        }
        if self.in_flight.get(self.answered).is_some_and(|&(id, _)| sent_as(id)) {
            return false;
        }
        self.replies.remove(0);
        true
    }

    /// The connection closed: the ids of the sends that will never be echoed.
    pub(super) fn close(&mut self) -> Vec<u64> {
        let lost = self.in_flight.iter_from(self.answered).map(|&(id, _)| id).collect();
        self.in_flight.clear();
        self.answered = 0;
        self.replies.clear();
        lost
    }
}

#[cfg(test)]
mod tests {
    use crate::model::log::{Link, Record};
    use crate::model::ready_state::ReadyState;
    use crate::model::session::tests::{at, close, echo, links, open, run, sent};
    use crate::model::session::Action;

    #[test]
    fn the_kth_echo_answers_the_kth_send_with_its_round_trip() {
        let session =
            run(vec![open(), sent("a", 10.0), sent("bb", 11.0), echo("a", 12.5), sent("ccc", 13.0), echo("bb", 14.0)]);
        assert_eq!(
            links(&session),
            [
                Link::None,
                Link::Echoed { by: 4, rtt_ms: 2.5 },
                Link::Echoed { by: 6, rtt_ms: 3.0 },
                Link::EchoOf { sent: 2, rtt_ms: 2.5 },
                Link::Pending,
                Link::EchoOf { sent: 3, rtt_ms: 3.0 },
            ]
        );
        assert_eq!(session.pending(), 1);
        assert_eq!(session.rtts.iter().copied().collect::<Vec<_>>(), [2.5, 3.0]);
        assert_eq!(session.traffic.received_messages, 2);
        assert_eq!(session.traffic.received_bytes, 3);
    }

    #[test]
    fn sends_cut_off_by_a_close_are_lost_and_a_new_connection_starts_afresh() {
        let session = run(vec![
            open(),
            sent("a", 1.0),
            sent("b", 2.0),
            echo("a", 3.0),
            close(1006),
            Action::Connecting(ReadyState::Connecting, 0.0),
            open(),
            echo("unexpected", 9.0),
        ]);
        let links = links(&session);
        assert_eq!(links[2], Link::Lost);
        assert_eq!(links[6], Link::None, "nothing was sent on the new connection");
        assert_eq!(session.pending(), 0);
    }

    #[test]
    fn pairing_survives_a_clear() {
        let session = run(vec![open(), sent("a", 1.0), Action::Clear, echo("a", 2.0)]);
        assert_eq!(links(&session), [Link::EchoOf { sent: 2, rtt_ms: 1.0 }]);
        assert_eq!(session.rtts.len(), 1);
    }

    fn open_lab() -> Action {
        at(
            Record::Open { url: "ws://h/ws/lab".into(), protocol: String::new(), extensions: String::new() },
            0.0,
            ReadyState::Open,
        )
    }

    fn command(text: &str, at_ms: f64) -> Action {
        Action::PageSent { text: text.into(), time: "t".into(), at_ms }
    }

    #[test]
    fn lab_commands_expect_no_echo_and_reports_answer_no_send() {
        let session = run(vec![
            open_lab(),
            command("/delay 100", 1.0),
            echo(r#"{"server":"delay","ms":100}"#, 2.0),
            sent("a", 3.0),
            Action::EditDraft("draft".into()),
            command("/ping", 4.0),
            echo(r#"{"server":"pong","ms":0.5}"#, 5.0),
            echo("a", 103.0),
        ]);
        assert_eq!(
            links(&session),
            [
                Link::None,
                Link::None,
                Link::Report,
                Link::Echoed { by: 7, rtt_ms: 100.0 },
                Link::None,
                Link::Report,
                Link::EchoOf { sent: 4, rtt_ms: 100.0 },
            ]
        );
        assert_eq!(session.pending(), 0);
        assert_eq!(session.draft, "draft", "a command leaves the draft alone");
        assert_eq!(session.traffic.sent_messages, 3);
    }

    #[test]
    fn a_lab_fragment_reply_is_not_an_echo() {
        let session = run(vec![
            open_lab(),
            sent("slow", 1.0),
            command("/fragment 2 hello", 2.0),
            // The reply and the report come at once, before the delayed echo.
            echo("hello", 3.0),
            echo(r#"{"server":"fragmented","frames":2,"bytes":5}"#, 3.5),
            echo("slow", 9.0),
        ]);
        assert_eq!(links(&session)[1], Link::Echoed { by: 6, rtt_ms: 8.0 });
        assert_eq!(links(&session)[3], Link::None);
        assert_eq!(session.pending(), 0);
    }

    #[test]
    fn a_fragment_text_equal_to_the_next_echo_is_taken_as_that_echo() {
        let session = run(vec![
            open_lab(),
            sent("x y", 1.0),
            command("/fragment 2 x y", 2.0),
            echo("x y", 3.0),
            echo("x y", 4.0),
        ]);
        assert_eq!(links(&session)[1], Link::Echoed { by: 4, rtt_ms: 2.0 });
        assert_eq!(links(&session)[4], Link::None);
        assert_eq!(session.pending(), 0);
    }

    #[test]
    fn slash_texts_are_echoed_off_the_lab() {
        let session = run(vec![open(), command("/drop", 1.0), echo("/drop", 2.0)]);
        assert_eq!(links(&session)[1], Link::Echoed { by: 3, rtt_ms: 1.0 });
        let session =
            run(vec![open_lab(), Action::Connecting(ReadyState::Connecting, 0.0), open(), command("/x", 1.0)]);
        assert_eq!(session.pending(), 1, "a new connection to /ws is no lab");
    }

    #[test]
    fn a_dropped_lab_connection_loses_its_sends_and_forgets_its_replies() {
        let mut session = run(vec![open_lab(), sent("a", 1.0), command("/fragment 2 ab", 1.5), command("/drop", 2.0)]);
        session.apply(close(1006));
        assert_eq!(links(&session)[1], Link::Lost);
        assert_eq!(links(&session)[3], Link::None);
        assert!(session.pairing.replies.is_empty());
    }
}
