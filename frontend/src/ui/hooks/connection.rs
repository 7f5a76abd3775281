//! The panel's connection slot.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use crate::browser::connection::Connection;

/// A panel's connection slot: empty, or holding its current [`Connection`].
/// Unmounting the component that owns it drops the connection.
#[hook]
pub fn use_connection() -> Rc<RefCell<Option<Connection>>> {
    let slot = use_mut_ref(|| None::<Connection>);
    {
        let slot = Rc::clone(&slot);
        use_effect_with((), move |()| move || drop(slot.borrow_mut().take()));
    }
    slot
}
