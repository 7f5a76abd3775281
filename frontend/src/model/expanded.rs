//! Which rows of the log are expanded to show their details. A row stays
//! expanded while it is drawn; once it is no longer drawn (filtered out,
//! cleared, or older than the newest rows drawn) it is forgotten, so that the
//! set stays as small as what is on the page.

/// The ids of the expanded log entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expanded(Vec<u64>);

impl Expanded {
    /// Whether the entry `id` is expanded.
    pub fn contains(&self, id: u64) -> bool {
        self.0.contains(&id)
    }

    /// Expands the entry `id`, or collapses it if it was expanded.
    pub fn toggle(&mut self, id: u64) {
        match self.0.iter().position(|expanded| *expanded == id) {
            Some(index) => {
                self.0.swap_remove(index);
            }
            None => self.0.push(id),
        }
    }

    /// Forgets every entry for which `drawn` is false.
    pub fn keep_drawn(&mut self, drawn: impl Fn(u64) -> bool) {
        self.0.retain(|id| drawn(*id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_toggles_and_others_keep_their_state() {
        let mut expanded = Expanded::default();
        expanded.toggle(3);
        expanded.toggle(5);
        assert!(expanded.contains(3) && expanded.contains(5) && !expanded.contains(4));
        expanded.toggle(3);
        assert!(!expanded.contains(3) && expanded.contains(5));
    }

    #[test]
    fn rows_no_longer_drawn_are_forgotten_and_come_back_collapsed() {
        let mut expanded = Expanded::default();
        for id in [1, 7, 9] {
            expanded.toggle(id);
        }
        // Entries 5 to 9 are drawn now (older ones scrolled out of the newest rows,
        // or a filter hid them).
        expanded.keep_drawn(|id| (5..=9).contains(&id));
        assert!(!expanded.contains(1));
        assert!(expanded.contains(7) && expanded.contains(9));
        expanded.keep_drawn(|id| id != 7);
        assert_eq!(expanded, {
            let mut only_nine = Expanded::default();
            only_nine.toggle(9);
            only_nine
        });
    }
}
