//! Which log entries are shown: by kind, by direction, and by a search text.

use std::borrow::Borrow;

use crate::model::log::{Entry, Kind};

/// Lowercases text that is not ASCII, for case-insensitive search. The page
/// passes the browser's own `String.prototype.toLowerCase`
/// (`browser::borrowed::lowercase`), so the wasm carries no Unicode case
/// tables; native code and tests pass [`str::to_lowercase`].
pub type Lowercase = fn(&str) -> String;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Everything.
    Both,
    /// What the socket raised: open, message, close, error.
    Incoming,
    /// What this page sent.
    Outgoing,
}

impl Direction {
    /// Every choice, in the order the page lists them.
    pub const ALL: [Direction; 3] = [Direction::Both, Direction::Incoming, Direction::Outgoing];

    /// The words shown for this choice.
    pub fn label(self) -> &'static str {
        match self {
            Direction::Both => "both",
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        }
    }

    /// The choice with `label`, or both.
    pub fn from_label(label: &str) -> Direction {
        Direction::ALL.into_iter().find(|direction| direction.label() == label).unwrap_or(Direction::Both)
    }
}

/// The log's filter; the default shows everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Kinds hidden by their checkbox.
    pub hidden: Vec<Kind>,
    /// Direction to show.
    pub direction: Direction,
    /// Text to look for, case-insensitively, in the summary and every detail.
    pub search: String,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter { hidden: Vec::new(), direction: Direction::Both, search: String::new() }
    }
}

impl Filter {
    /// Whether the filter shows everything, so counting can skip the entries.
    pub fn is_everything(&self) -> bool {
        self.hidden.is_empty() && self.direction == Direction::Both && self.search.trim().is_empty()
    }

    /// Shows or hides a kind.
    pub fn set_shown(&mut self, kind: Kind, shown: bool) {
        self.hidden.retain(|hidden| *hidden != kind);
        if !shown {
            self.hidden.push(kind);
        }
    }

    /// Whether `entry` passes. `needle` is the search text lowercased once by
    /// [`Filter::needle`], not per entry.
    pub fn matches(&self, entry: &Entry, needle: &str, lowercase: Lowercase) -> bool {
        let kind = entry.record.kind();
        if self.hidden.contains(&kind) {
            return false;
        }
        let outgoing = kind == Kind::Sent;
        match self.direction {
            Direction::Incoming if outgoing => return false,
            Direction::Outgoing if !outgoing => return false,
            _ => {}
        }
        needle.is_empty()
            || fold_case(&entry.record.summary(), lowercase).contains(needle)
            || entry.details().iter().any(|(name, value)| {
                fold_case(name, lowercase).contains(needle) || fold_case(value, lowercase).contains(needle)
            })
    }

    /// The search text as [`Filter::matches`] wants it.
    pub fn needle(&self, lowercase: Lowercase) -> String {
        fold_case(self.search.trim(), lowercase)
    }
}

/// `text` lowercased, for case-insensitive search: ASCII text (nearly every
/// log entry) here, other text by `lowercase`.
fn fold_case(text: &str, lowercase: Lowercase) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        lowercase(text)
    }
}

/// The newest `limit` entries that pass `filter`, oldest first, and how many
/// pass in all. Only these are drawn, so a log of any length renders quickly.
pub fn newest_matching<'a, T, I>(entries: I, filter: &Filter, limit: usize, lowercase: Lowercase) -> (Vec<&'a T>, usize)
where
    T: Borrow<Entry> + 'a,
    I: DoubleEndedIterator<Item = &'a T>,
{
    let needle = filter.needle(lowercase);
    // When everything passes, entries are only counted, never looked into.
    let everything = filter.is_everything();
    let mut total = 0;
    let mut newest = Vec::with_capacity(limit);
    for entry in entries.rev() {
        if everything || filter.matches(entry.borrow(), &needle, lowercase) {
            total += 1;
            if newest.len() < limit {
                newest.push(entry);
            }
        }
    }
    newest.reverse();
    (newest, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::log::{Link, Payload, Record};

    const LOWERCASE: Lowercase = str::to_lowercase;

    fn entry(record: Record) -> Entry {
        Entry { id: 1, time: "t".into(), at_ms: 0.0, record, link: Link::None, facts: None }
    }

    fn check(filter: &Filter, expected: [bool; 3]) {
        let entries = [
            entry(Record::Sent { payload: Payload::Text("Hello World".into()) }),
            entry(Record::Message { payload: Payload::Text("hello world".into()), origin: "ws://h".into() }),
            entry(Record::Close { code: 4001, reason: "bye".into(), was_clean: true }),
        ];
        let needle = filter.needle(LOWERCASE);
        let got: Vec<bool> = entries.iter().map(|entry| filter.matches(entry, &needle, LOWERCASE)).collect();
        assert_eq!(got, expected, "{filter:?}");
    }

    #[test]
    fn filters_by_kind_direction_and_text() {
        let mut filter = Filter::default();
        assert!(filter.is_everything());
        check(&filter, [true, true, true]);
        filter.set_shown(Kind::Close, false);
        check(&filter, [true, true, false]);
        filter.set_shown(Kind::Close, true);
        filter.direction = Direction::Outgoing;
        check(&filter, [true, false, false]);
        filter.direction = Direction::Incoming;
        check(&filter, [false, true, true]);
        filter.direction = Direction::Both;
        filter.search = "  HELLO ".into();
        check(&filter, [true, true, false]);
        filter.search = "4001".into();
        check(&filter, [false, false, true]);
        filter.search = "wasclean".into();
        check(&filter, [false, false, true]);
        assert!(!filter.is_everything());
    }

    #[test]
    fn search_ignores_case_beyond_ascii() {
        let entry = entry(Record::Sent { payload: Payload::Text("Ünïcode ÉTÉ".into()) });
        let filter = Filter { search: "été".into(), ..Filter::default() };
        assert!(filter.matches(&entry, &filter.needle(LOWERCASE), LOWERCASE));
        assert_eq!(fold_case("MiXeD ascii", LOWERCASE), "mixed ascii");
        assert_eq!(fold_case("ÜNÏ", LOWERCASE), "ünï");
    }

    #[test]
    fn only_the_newest_matches_are_kept_but_all_are_counted() {
        let entries: Vec<Entry> = (1..=10)
            .map(|id| Entry {
                id,
                record: if id % 2 == 0 {
                    Record::Error
                } else {
                    Record::Sent { payload: Payload::Text(id.to_string()) }
                },
                ..entry(Record::Error)
            })
            .collect();
        let (shown, total) = newest_matching(entries.iter(), &Filter::default(), 3, LOWERCASE);
        assert_eq!(shown.iter().map(|entry| entry.id).collect::<Vec<_>>(), [8, 9, 10]);
        assert_eq!(total, 10);
        let mut errors_only = Filter::default();
        errors_only.set_shown(Kind::Sent, false);
        let (shown, total) = newest_matching(entries.iter(), &errors_only, 2, LOWERCASE);
        assert_eq!(shown.iter().map(|entry| entry.id).collect::<Vec<_>>(), [8, 10]);
        assert_eq!(total, 5);
    }

    #[test]
    fn directions_have_labels() {
        for direction in Direction::ALL {
            assert_eq!(Direction::from_label(direction.label()), direction);
        }
        assert_eq!(Direction::from_label("sideways"), Direction::Both);
    }
}
