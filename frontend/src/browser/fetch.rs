//! `fetch`, with the callbacks that receive its outcome owned by a [`Fetcher`].

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RequestInit, Response};

use crate::browser::{describe_js_error as describe, with};

/// Gets a successful response and its text.
pub type OnFetched = Box<dyn Fn(&Response, String)>;

/// One `fetch` at a time, with the callbacks that receive its outcome owned
/// here. While a fetch is out the fetcher keeps itself alive, so the promise
/// never calls a dropped callback; it lets go once the fetch has settled.
pub struct Fetcher {
    on_response: Closure<dyn FnMut(JsValue)>,
    on_text: Closure<dyn FnMut(JsValue)>,
    on_failure: Closure<dyn FnMut(JsValue)>,
    response: RefCell<Option<Response>>,
    in_flight: RefCell<Option<Rc<Fetcher>>>,
}

impl Fetcher {
    /// A fetcher that gives each successful response and its text to `ondone`,
    /// and says why to `onfail` otherwise (an HTTP error status included).
    ///
    /// The callbacks are boxed so that every fetcher shares one copy of this code.
    pub fn new(ondone: OnFetched, onfail: Rc<dyn Fn(String)>) -> Rc<Fetcher> {
        Rc::new_cyclic(|this: &Weak<Fetcher>| {
            let (responded, texted, failed) = (this.clone(), this.clone(), this.clone());
            let (text_failed, status_failed, fetch_failed) = (Rc::clone(&onfail), Rc::clone(&onfail), onfail);
            Fetcher {
                on_response: Closure::new(move |value: JsValue| {
                    with(&responded, |fetcher| {
                        let response: Response = value.unchecked_into();
                        match response.text() {
                            Ok(text) => {
                                let _ = text.then2(&fetcher.on_text, &fetcher.on_failure);
                                *fetcher.response.borrow_mut() = Some(response);
                            }
                            Err(error) => {
                                fetcher.in_flight.take();
                                text_failed(describe(error));
                            }
                        }
                    })
                }),
                on_text: Closure::new(move |text: JsValue| {
                    with(&texted, |fetcher| {
                        fetcher.in_flight.take();
                        let Some(response) = fetcher.response.take() else {
                            return;
                        };
                        match response.ok() {
                            true => ondone(&response, text.as_string().unwrap_or_default()),
                            false => status_failed(format!("the server answered {}", response.status())),
                        }
                    })
                }),
                on_failure: Closure::new(move |error: JsValue| {
                    with(&failed, |fetcher| {
                        fetcher.in_flight.take();
                        fetcher.response.take();
                        fetch_failed(describe(error));
                    })
                }),
                response: RefCell::new(None),
                in_flight: RefCell::new(None),
            }
        })
    }

    /// Starts `fetch(url)`: a POST of `body`, or a GET.
    pub fn fetch(self: &Rc<Self>, url: &str, body: Option<&str>) {
        let init = RequestInit::new();
        if let Some(body) = body {
            init.set_method("POST");
            init.set_body(&JsValue::from_str(body));
        }
        *self.in_flight.borrow_mut() = Some(Rc::clone(self));
        let _ = gloo::utils::window().fetch_with_str_and_init(url, &init).then2(&self.on_response, &self.on_failure);
    }
}
