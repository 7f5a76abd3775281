//! Element ids that stay unique with several connection tabs on the page: each
//! tab provides a prefix, and every `id`, `for` and `aria-*` reference uses it.

use yew::prelude::*;

/// The prefix of the element ids in one tab.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ids(pub AttrValue);

impl Ids {
    /// The element id for `name` in this tab.
    pub fn of(&self, name: &str) -> AttrValue {
        if self.0.is_empty() {
            AttrValue::from(name.to_owned())
        } else {
            AttrValue::from(format!("{}{name}", self.0))
        }
    }
}

/// The ids of the tab this component is in (bare ids outside any tab).
#[hook]
pub fn use_ids() -> Ids {
    use_context::<Ids>().unwrap_or_default()
}
