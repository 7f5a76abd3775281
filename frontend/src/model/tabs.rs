//! Several connections at once: which tabs exist, which one is shown, and the
//! ready state each tab's label shows.

use crate::model::ready_state::ReadyState;

/// One connection's tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tab {
    /// Never reused while the page lives.
    pub id: u32,
    /// Its connection's `readyState`, for the label.
    pub ready_state: ReadyState,
}

impl Tab {
    /// The tab's name.
    pub fn label(&self) -> String {
        format!("Connection {}", self.id)
    }

    /// What this tab's element ids start with. The first tab's are bare
    /// (`url`, `message`, …) so that a page with one connection reads as before.
    pub fn id_prefix(&self) -> String {
        if self.id == 1 {
            String::new()
        } else {
            format!("c{}-", self.id)
        }
    }
}

/// The tabs, in order, and the one shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tabs {
    /// Every tab, left to right.
    pub list: Vec<Tab>,
    /// The shown tab's id.
    pub active: u32,
    next_id: u32,
}

/// A change to the tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TabAction {
    /// "New connection": adds a tab and shows it.
    Add,
    /// Closes a tab (never the last one); its neighbour is shown if it was.
    Close(u32),
    /// Shows a tab.
    Select(u32),
    /// ← or → in the tab list: shows the previous or next tab, wrapping around.
    Step(i32),
    /// A tab's connection changed state.
    State(u32, ReadyState),
}

impl Default for Tabs {
    fn default() -> Tabs {
        Tabs { list: vec![Tab { id: 1, ready_state: ReadyState::Closed }], active: 1, next_id: 2 }
    }
}

impl Tabs {
    /// Applies one change.
    pub fn apply(&mut self, action: TabAction) {
        match action {
            TabAction::Add => {
                self.list.push(Tab { id: self.next_id, ready_state: ReadyState::Closed });
                self.active = self.next_id;
                self.next_id += 1;
            }
            TabAction::Close(id) => {
                let Some(index) = self.list.iter().position(|tab| tab.id == id) else {
                    return;
                };
                if self.list.len() == 1 {
                    return;
                }
                self.list.remove(index);
                if self.active == id {
                    self.active = self.list[index.min(self.list.len() - 1)].id;
                }
            }
            TabAction::Select(id) => {
                if self.list.iter().any(|tab| tab.id == id) {
                    self.active = id;
                }
            }
            TabAction::Step(step) => {
                let index = self.list.iter().position(|tab| tab.id == self.active).unwrap_or(0) as i32;
                let count = self.list.len() as i32;
                self.active = self.list[(index + step).rem_euclid(count) as usize].id;
            }
            TabAction::State(id, ready_state) => {
                if let Some(tab) = self.list.iter_mut().find(|tab| tab.id == id) {
                    tab.ready_state = ready_state;
                }
            }
        }
    }
}

impl yew::Reducible for Tabs {
    type Action = TabAction;

    fn reduce(self: std::rc::Rc<Self>, action: TabAction) -> std::rc::Rc<Self> {
        let mut tabs = (*self).clone();
        tabs.apply(action);
        // An action that changes nothing (a tab told the state it already has,
        // as each panel does when it mounts) keeps the same value, and Yew
        // then draws nothing again.
        if tabs == *self {
            self
        } else {
            std::rc::Rc::new(tabs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(actions: &[TabAction]) -> Tabs {
        let mut tabs = Tabs::default();
        for action in actions {
            tabs.apply(*action);
        }
        tabs
    }

    fn ids(tabs: &Tabs) -> Vec<u32> {
        tabs.list.iter().map(|tab| tab.id).collect()
    }

    #[test]
    fn new_tabs_are_shown_and_closing_shows_a_neighbour() {
        let tabs = run(&[TabAction::Add, TabAction::Add]);
        assert_eq!((ids(&tabs), tabs.active), (vec![1, 2, 3], 3));
        let tabs = run(&[TabAction::Add, TabAction::Add, TabAction::Select(2), TabAction::Close(2)]);
        assert_eq!((ids(&tabs), tabs.active), (vec![1, 3], 3));
        let tabs = run(&[TabAction::Add, TabAction::Close(2)]);
        assert_eq!((ids(&tabs), tabs.active), (vec![1], 1));
        let tabs = run(&[TabAction::Add, TabAction::Close(2), TabAction::Add]);
        assert_eq!(ids(&tabs), [1, 3], "ids are never reused");
    }

    #[test]
    fn the_last_tab_stays_and_unknown_ids_change_nothing() {
        assert_eq!(run(&[TabAction::Close(1)]), Tabs::default());
        assert_eq!(run(&[TabAction::Select(9), TabAction::Close(9)]), Tabs::default());
    }

    #[test]
    fn arrows_wrap_around_and_states_are_kept_per_tab() {
        let tabs = run(&[TabAction::Add, TabAction::Add, TabAction::Step(1)]);
        assert_eq!(tabs.active, 1);
        let tabs = run(&[TabAction::Add, TabAction::Select(1), TabAction::Step(-1)]);
        assert_eq!(tabs.active, 2);
        let tabs = run(&[TabAction::Add, TabAction::State(1, ReadyState::Open)]);
        assert_eq!(tabs.list[0].ready_state, ReadyState::Open);
        assert_eq!(tabs.list[1].ready_state, ReadyState::Closed);
    }

    #[test]
    fn an_action_that_changes_nothing_keeps_the_same_value() {
        use yew::Reducible;
        let tabs = std::rc::Rc::new(Tabs::default());
        let same = std::rc::Rc::clone(&tabs).reduce(TabAction::State(1, ReadyState::Closed));
        assert!(std::rc::Rc::ptr_eq(&tabs, &same), "no redraw for nothing");
        let changed = std::rc::Rc::clone(&tabs).reduce(TabAction::State(1, ReadyState::Open));
        assert!(!std::rc::Rc::ptr_eq(&tabs, &changed));
    }

    #[test]
    fn the_first_tab_keeps_bare_element_ids() {
        assert_eq!(Tab { id: 1, ready_state: ReadyState::Closed }.id_prefix(), "");
        assert_eq!(Tab { id: 4, ready_state: ReadyState::Closed }.id_prefix(), "c4-");
        assert_eq!(Tab { id: 4, ready_state: ReadyState::Closed }.label(), "Connection 4");
    }
}
