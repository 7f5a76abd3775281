//! Recently sent messages, recalled with ↑ and ↓ in the Message box like a
//! shell's history.

/// How many sent messages are remembered.
pub const HISTORY_LIMIT: usize = 50;

/// The sent messages, oldest first, and where ↑/↓ have got to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    items: Vec<String>,
    /// The index being shown, when browsing.
    cursor: Option<usize>,
    /// What was typed before browsing began, given back by ↓ past the newest.
    stash: String,
}

impl History {
    /// A history holding `items`, oldest first (e.g. loaded from storage).
    pub fn from_items(mut items: Vec<String>) -> History {
        let excess = items.len().saturating_sub(HISTORY_LIMIT);
        items.drain(..excess);
        History { items, ..History::default() }
    }

    /// The remembered messages, oldest first.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// Remembers a sent message and stops browsing. Empty messages and a repeat
    /// of the newest one are not added.
    pub fn push(&mut self, sent: &str) {
        self.cursor = None;
        self.stash.clear();
        if sent.is_empty() || self.items.last().is_some_and(|last| last == sent) {
            return;
        }
        self.items.push(sent.to_owned());
        if self.items.len() > HISTORY_LIMIT {
            self.items.remove(0);
        }
    }

    /// ↑: the next older message, keeping `draft` to come back to. `None` when
    /// there is nothing older.
    pub fn older(&mut self, draft: &str) -> Option<String> {
        let index = match self.cursor {
            None if self.items.is_empty() => return None,
            None => {
                self.stash = draft.to_owned();
                self.items.len() - 1
            }
            Some(0) => return None,
            Some(index) => index - 1,
        };
        self.cursor = Some(index);
        Some(self.items[index].clone())
    }

    /// ↓: the next newer message, or the stashed draft after the newest. `None`
    /// when not browsing.
    pub fn newer(&mut self) -> Option<String> {
        let index = self.cursor?;
        if index + 1 < self.items.len() {
            self.cursor = Some(index + 1);
            Some(self.items[index + 1].clone())
        } else {
            self.cursor = None;
            Some(std::mem::take(&mut self.stash))
        }
    }
}

/// Whether a caret at UTF-16 offset `caret` (as `selectionStart` reports it) is
/// on the first line of `text`, where ↑ recalls history instead of moving up.
pub fn caret_on_first_line(text: &str, caret: u32) -> bool {
    !utf16_prefix(text, caret).contains('\n')
}

/// Whether a caret at UTF-16 offset `caret` is on the last line of `text`,
/// where ↓ recalls history instead of moving down.
pub fn caret_on_last_line(text: &str, caret: u32) -> bool {
    !text[utf16_prefix(text, caret).len()..].contains('\n')
}

/// The part of `text` before UTF-16 offset `offset`.
fn utf16_prefix(text: &str, offset: u32) -> &str {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        if units >= offset as usize {
            return &text[..index];
        }
        units += c.len_utf16();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_recall_history_only_from_the_first_or_last_line() {
        assert!(caret_on_first_line("", 0));
        assert!(caret_on_first_line("one\ntwo", 3));
        assert!(!caret_on_first_line("one\ntwo", 4));
        assert!(caret_on_last_line("one\ntwo", 4));
        assert!(!caret_on_last_line("one\ntwo", 3));
        // 😀 is two UTF-16 units: offset 3 is after it and the newline's start.
        assert!(caret_on_first_line("😀\nx", 2));
        assert!(!caret_on_first_line("😀\nx", 3));
        assert!(caret_on_last_line("😀\nx", 3));
        assert!(caret_on_last_line("abc", 99));
    }

    #[test]
    fn up_walks_back_and_down_returns_to_the_draft() {
        let mut history = History::default();
        for sent in ["one", "two", "three"] {
            history.push(sent);
        }
        assert_eq!(history.older("half-typed").as_deref(), Some("three"));
        assert_eq!(history.older("three").as_deref(), Some("two"));
        assert_eq!(history.older("two").as_deref(), Some("one"));
        assert_eq!(history.older("one"), None, "nothing older than the oldest");
        assert_eq!(history.newer().as_deref(), Some("two"));
        assert_eq!(history.newer().as_deref(), Some("three"));
        assert_eq!(history.newer().as_deref(), Some("half-typed"));
        assert_eq!(history.newer(), None, "not browsing any more");
    }

    #[test]
    fn empty_and_repeated_messages_are_not_added_and_the_oldest_go() {
        let mut history = History::default();
        assert_eq!(history.older(""), None);
        history.push("");
        history.push("a");
        history.push("a");
        assert_eq!(history.items(), ["a"]);
        for index in 0..HISTORY_LIMIT + 5 {
            history.push(&index.to_string());
        }
        assert_eq!(history.items().len(), HISTORY_LIMIT);
        assert_eq!(history.items()[0], "5");
        let loaded = History::from_items((0..80).map(|index| index.to_string()).collect());
        assert_eq!(loaded.items().len(), HISTORY_LIMIT);
        assert_eq!(loaded.items()[0], "30");
    }

    #[test]
    fn sending_stops_browsing() {
        let mut history = History::from_items(vec!["a".into(), "b".into()]);
        history.older("");
        history.push("c");
        assert_eq!(history.older("").as_deref(), Some("c"));
    }
}
