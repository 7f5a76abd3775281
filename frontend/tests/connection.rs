//! The connection object in a real browser, against the real echo server.
//!
//! `cargo xtask test` starts the backend and passes its socket URL in
//! `ECHO_TEST_WS_URL` when these tests are compiled.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use frontend::browser::connection::{Connection, OnRecord};
use frontend::model::log::{Facts, Payload, Record};
use frontend::model::ready_state::ReadyState;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ECHO_URL: &str = match option_env!("ECHO_TEST_WS_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:3000/ws",
};

/// Every record a handler was given, with the state after it.
type Records = Rc<RefCell<Vec<(Record, ReadyState)>>>;

/// A handler that keeps every record it is given.
fn recorder() -> (OnRecord, Records) {
    let records = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&records);
    let handler: OnRecord = Rc::new(move |record, facts: Facts| sink.borrow_mut().push((record, facts.ready_state)));
    (handler, records)
}

/// Waits until `done` holds, failing after five seconds.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        gloo_timers::future::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn kinds(records: &RefCell<Vec<(Record, ReadyState)>>) -> Vec<&'static str> {
    records.borrow().iter().map(|(record, _)| record.kind().label()).collect()
}

#[wasm_bindgen_test]
async fn opens_echoes_text_and_binary_and_closes_cleanly() {
    let (handler, records) = recorder();
    let connection = Connection::open(ECHO_URL, &handler).unwrap();
    assert_eq!(connection.ready_state(), ReadyState::Connecting);
    wait_for("open", || kinds(&records) == ["open"]).await;
    assert_eq!(records.borrow()[0].1, ReadyState::Open);

    connection.send(&Payload::Text("<b>hi</b>".into())).unwrap();
    connection.send(&Payload::Binary(vec![0, 1, 254, 255])).unwrap();
    wait_for("two echoes", || records.borrow().len() == 3).await;
    let echoed: Vec<_> = records.borrow()[1..]
        .iter()
        .map(|(record, _)| match record {
            Record::Message { payload, .. } => payload.clone(),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect();
    assert_eq!(echoed, [Payload::Text("<b>hi</b>".into()), Payload::Binary(vec![0, 1, 254, 255])]);

    connection.close(4001, "done").unwrap();
    assert_eq!(connection.ready_state(), ReadyState::Closing);
    wait_for("close", || kinds(&records).last() == Some(&"close")).await;
    let last = records.borrow().last().cloned().unwrap();
    assert_eq!(last.0, Record::Close { code: 4001, reason: "done".into(), was_clean: true });
    assert_eq!(last.1, ReadyState::Closed);
}

#[wasm_bindgen_test]
async fn dropping_the_connection_closes_the_socket_and_detaches_the_listeners() {
    let (handler, records) = recorder();
    let connection = Connection::open(ECHO_URL, &handler).unwrap();
    wait_for("open", || kinds(&records) == ["open"]).await;
    // The four listeners each hold the handler.
    assert_eq!(Rc::strong_count(&handler), 5);

    let socket = connection.socket().clone();
    drop(connection);
    assert_eq!(ReadyState::from_number(socket.ready_state()), ReadyState::Closing);
    assert_eq!(Rc::strong_count(&handler), 1, "listeners outlived the connection");
    wait_for("the socket to close", || ReadyState::from_number(socket.ready_state()) == ReadyState::Closed).await;
    // The close event fired on the socket, but nobody was listening any more.
    gloo_timers::future::sleep(Duration::from_millis(50)).await;
    assert_eq!(kinds(&records), ["open"]);
}

#[wasm_bindgen_test]
async fn a_hundred_reconnects_leak_no_listener_or_closure() {
    let (handler, records) = recorder();
    let mut sockets = Vec::new();
    for round in 0..100 {
        let connection = Connection::open(ECHO_URL, &handler).unwrap();
        if round % 10 == 0 {
            // Let some of them open, so both opening and open sockets are dropped.
            wait_for("open", || records.borrow().len() == round / 10 + 1).await;
        }
        sockets.push(connection.socket().clone());
        drop(connection);
        assert_eq!(Rc::strong_count(&handler), 1, "round {round}");
    }
    wait_for("every socket to close", || {
        sockets.iter().all(|socket| ReadyState::from_number(socket.ready_state()) == ReadyState::Closed)
    })
    .await;
    assert!(kinds(&records).iter().all(|kind| *kind == "open"), "{:?}", kinds(&records));
}

#[wasm_bindgen_test]
async fn an_unreachable_server_reports_error_then_close_1006() {
    let (handler, records) = recorder();
    // Port 1 on loopback has nothing listening.
    let _connection = Connection::open("ws://127.0.0.1:1/ws", &handler).unwrap();
    wait_for("close", || kinds(&records).last() == Some(&"close")).await;
    assert_eq!(kinds(&records), ["error", "close"]);
    let close = records.borrow()[1].0.clone();
    assert!(matches!(close, Record::Close { code: 1006, was_clean: false, .. }), "{close:?}");
}

#[wasm_bindgen_test]
fn a_malformed_url_is_refused_with_the_browsers_reason() {
    let (handler, _) = recorder();
    let error = Connection::open("ftp://127.0.0.1/ws", &handler).err().expect("refused");
    assert!(error.starts_with("SyntaxError"), "{error}");
}
