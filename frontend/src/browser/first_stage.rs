//! Taking over from the page's first stage (the `boot` crate): the small
//! module the page starts first handles the first connection while this one
//! loads, and leaves `window.echoFirstStage` (its contract is written in
//! `boot/src/stage.rs`). The app's first tab calls [`take_over`] once: it
//! stops the first stage, turns every step it logged into the actions the app
//! would have made itself, and keeps the live socket with listeners of its own,
//! all in one task, so that no event is missed or seen twice.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, WebSocket};

use crate::browser::clock;
use crate::browser::connection::{facts_then, record_of, Connection, OnRecord};
use crate::model::log::{Payload, Record};
use crate::model::ready_state::ReadyState;
use crate::model::session::Action;

/// What the first stage hands over.
pub struct TakenOver {
    /// Its steps as the app's actions, oldest first, then the Message box's text.
    pub actions: Vec<Action>,
    /// Its socket, now with this app's listeners, if Connect was pressed.
    pub connection: Option<Connection>,
    /// How long each socket event it drew waited for its frame (ms).
    pub delays: Vec<f64>,
}

/// Stops the first stage and takes over what it did, with the socket's events
/// from now on going to `on_record`; `None` when there is no first stage (it
/// did not run, or a tab took over already).
pub fn take_over(on_record: &OnRecord) -> Option<TakenOver> {
    let window = gloo::utils::window();
    let key = JsValue::from_str("echoFirstStage");
    let handover = Reflect::get(&window, &key).ok().filter(JsValue::is_object)?;
    let _ = Reflect::delete_property(&window, &key);
    let get = |name: &str| Reflect::get(&handover, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    if let Some(release) = get("release").dyn_ref::<Function>() {
        let _ = release.call0(&handover);
    }
    let socket = get("socket").dyn_into::<WebSocket>().ok();
    let mut actions: Vec<Action> = get("log")
        .dyn_into::<Array>()
        .map(|log| log.iter().filter_map(|step| action(&step, socket.as_ref())).collect())
        .unwrap_or_default();
    if let Some(draft) = get("draft").as_string() {
        actions.push(Action::EditDraft(draft));
    }
    let delays =
        get("delays").dyn_into::<Array>().map(|delays| delays.iter().filter_map(|delay| delay.as_f64()).collect());
    Some(TakenOver {
        actions,
        connection: socket.map(|socket| Connection::adopt(socket, on_record)),
        delays: delays.unwrap_or_default(),
    })
}

/// One logged step as the action the app would have made.
fn action(step: &JsValue, socket: Option<&WebSocket>) -> Option<Action> {
    let step: &Array = step.dyn_ref()?;
    let number = |at: u32| step.get(at).as_f64();
    match step.get(0).as_string()?.as_str() {
        "connecting" => Some(Action::Connecting(ReadyState::from_number(number(1)? as u16), number(2)?)),
        "event" => {
            let event = step.get(1).dyn_into::<Event>().ok()?;
            // The socket that raised it: after a reconnect, not the last one.
            let raised_by = event.target().and_then(|target| target.dyn_into::<WebSocket>().ok());
            let socket = raised_by.as_ref().or(socket)?;
            let facts = facts_then(socket, &event, ReadyState::from_number(number(2)? as u16), number(3)? as u32);
            let record = record_of(socket, &event);
            Some(Action::Record { record, time: clock::at(number(5)?), at_ms: number(4)?, facts })
        }
        "sent" => {
            let text = step.get(1).as_string()?;
            let (time, at_ms) = (clock::at(number(3)?), number(2)?);
            // The app logs what its Send sent as the draft it was.
            Some(Action::Batch(vec![
                Action::EditDraft(text.clone()),
                Action::Sent { record: Record::Sent { payload: Payload::Text(text) }, time, at_ms },
            ]))
        }
        "failed" => Some(Action::Failed(step.get(1).as_string()?)),
        _ => None,
    }
}
