//! What a handshake negotiated, in words: each parameter of the extensions the
//! browser offered (the request's `Sec-WebSocket-Extensions`) and the server
//! agreed to (the response's), with what the agreement means on the wire, and
//! what a missing extension or subprotocol header means (nothing offered,
//! nothing agreed, none selected). The words are lines of
//! `frontend/explain.html`, fetched with the rest of the inspector's prose:
//! `request.NAME` and `response.NAME` for a parameter or extension,
//! `request.without.HEADER` and `response.without.HEADER` for a header that is
//! missing. This module picks the lines; the inspector shows them.

use crate::model::explain::Texts;
use crate::model::report::HttpHead;
use crate::util::format::escape_html;

/// The headers whose absence says something about the negotiation.
const NEGOTIATED: [&str; 2] = ["sec-websocket-extensions", "sec-websocket-protocol"];

/// The key of the line that tells one parameter of `Sec-WebSocket-Extensions`
/// (an extension's name is one too) on one side (`request` or `response`):
/// `server_max_window_bits=10` in the response is told by
/// `response.server_max_window_bits`.
pub fn param_key(side: &str, param: &str) -> String {
    format!("{side}.{}", param.split('=').next().unwrap_or_default().trim())
}

/// Each parameter of a `Sec-WebSocket-Extensions` value on `side`, as written
/// and explained, as HTML (one line each); a parameter the texts do not
/// know is shown without words.
pub fn extension_html(texts: &Texts, side: &str, value: &str) -> String {
    let mut html = String::new();
    for param in value.split([',', ';']).map(str::trim) {
        html += &format!("<br><code>{}</code> {}", escape_html(param), texts.get(&param_key(side, param)));
    }
    html
}

/// What the headers missing from one side's head mean for the negotiation, as HTML.
pub fn missing_html(texts: &Texts, side: &str, head: &HttpHead) -> String {
    let mut html = String::new();
    for name in NEGOTIATED {
        if head.header(name).is_none() {
            html += texts.get(&format!("{side}.without.{name}"));
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> Texts {
        Texts(include_str!("../../explain.html").to_owned())
    }

    #[test]
    fn a_parameter_is_told_by_its_name_on_its_side() {
        assert_eq!(param_key("response", "server_max_window_bits=10"), "response.server_max_window_bits");
        assert_eq!(param_key("request", " client_max_window_bits "), "request.client_max_window_bits");
        assert_eq!(param_key("request", "permessage-deflate"), "request.permessage-deflate");
    }

    #[test]
    fn every_parameter_a_browser_or_this_server_uses_is_explained() {
        let texts = texts();
        let names = [
            "permessage-deflate",
            "client_max_window_bits",
            "server_max_window_bits",
            "server_no_context_takeover",
            "client_no_context_takeover",
        ];
        for side in ["request", "response"] {
            for name in names {
                assert!(!texts.get(&format!("{side}.{name}")).is_empty(), "no text for {side}.{name}");
            }
            for name in NEGOTIATED {
                assert!(!texts.get(&format!("{side}.without.{name}")).is_empty(), "no text for {side} without {name}");
            }
        }
    }

    #[test]
    fn the_default_agreement_explains_each_parameter_and_the_wire() {
        let agreed = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
        let html = extension_html(&texts(), "response", agreed);
        assert!(html.starts_with("<br><code>permessage-deflate</code> Agreed: compression is on"), "{html}");
        assert!(html.contains("RSV1") && html.contains("00 00 FF FF"), "{html}");
        assert!(
            html.contains("<br><code>server_no_context_takeover</code> The server compresses each message on its own")
        );
        assert!(html.contains("<br><code>client_no_context_takeover</code> The browser must"), "{html}");
        let offered = extension_html(&texts(), "request", "permessage-deflate; client_max_window_bits");
        assert!(offered.contains("<br><code>client_max_window_bits</code> Without a value"), "{offered}");
    }

    #[test]
    fn values_are_escaped_and_unknown_parameters_shown_without_words() {
        let html = extension_html(&texts(), "response", "permessage-deflate; server_max_window_bits=10; x=<b>");
        assert!(html.contains("<br><code>server_max_window_bits=10</code> The server compresses with a window"));
        assert!(html.ends_with("<br><code>x=&lt;b&gt;</code> "), "{html}");
    }

    #[test]
    fn a_missing_header_says_what_was_not_negotiated() {
        let head = |headers: &[(&str, &str)]| HttpHead {
            line: String::new(),
            headers: headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
        };
        let texts = texts();
        let both = head(&[("sec-websocket-extensions", "permessage-deflate"), ("sec-websocket-protocol", "chat")]);
        assert_eq!(missing_html(&texts, "response", &both), "");
        let neither = missing_html(&texts, "response", &head(&[]));
        assert!(neither.contains("--deflate off") && neither.contains("no subprotocol was selected"), "{neither}");
        let offered = missing_html(&texts, "request", &head(&[("sec-websocket-extensions", "permessage-deflate")]));
        assert!(offered.contains("Protocols was empty") && !offered.contains("compress"), "{offered}");
    }
}
