//! The handshake inspector's body once opened, as HTML: both heads with each
//! header explained (a hidden value as its size, and why it is hidden; each
//! extension parameter, and what missing negotiation headers mean, from
//! `negotiation.rs`), and `Sec-WebSocket-Accept` recomputed step by step. Built as text from `explain.html`'s lines because markup as
//! text costs the page far less than a tree of elements; every value from the
//! report is escaped.

use crate::model::explain::{header_meaning, Texts};
use crate::model::negotiation::{extension_html, missing_html};
use crate::model::report::{hidden_size, AcceptCheck, Handshake, HttpHead};
use crate::util::format::escape_html;

/// The opened inspector for `handshake`, whose accept value is `check`.
#[inline(never)]
pub fn inspector_html(texts: &Texts, handshake: &Handshake, check: Option<AcceptCheck>) -> String {
    let mut html = head_html(texts, "request", &handshake.request);
    html += &head_html(texts, "response", &handshake.response);
    let Some(check) = check else {
        return html + &format!("<p class=notice>{}</p>", texts.get("accept.none"));
    };
    html += &format!("<div class=accept><h3>{}</h3><ol class=steps>", texts.get("accept"));
    for (step, value) in
        texts.get("step").split(';').zip([&check.key, &check.concatenated, &check.sha1_hex, &check.expected])
    {
        html += &format!("<li>{step} <code>{}</code></li>", escape_html(value));
    }
    html + "</ol></div>"
}

/// One side of the handshake (`request` or `response`): its line and headers.
fn head_html(texts: &Texts, side: &str, head: &HttpHead) -> String {
    let mut html = format!(
        "<div class=http-head data-side={side}><h3>{}</h3><p class=http-line><code>{}</code></p><dl class=details>",
        texts.get(&format!("head.{side}")),
        escape_html(&head.line)
    );
    for (name, value) in &head.headers {
        let mut meaning = header_meaning(texts, name).to_owned();
        if name == "sec-websocket-extensions" {
            meaning += &extension_html(texts, side, value);
        }
        // The server hides a secret's value: its size is shown, and why.
        let (value, hidden) = match hidden_size(value) {
            Some(size) => (format!("hidden ({} bytes)", escape_html(size)), texts.get("hidden")),
            None => (escape_html(value), ""),
        };
        html += &format!(
            "<div class=\"detail header\" data-name=\"{name}\"><dt><code>{name}</code></dt><dd><code>{value}</code>\
             <span class=meaning>{meaning} {hidden}</span></dd></div>",
            name = escape_html(name)
        );
    }
    html + "</dl>" + &missing_html(texts, side, head) + "</div>"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::report::parse_handshake;

    fn texts() -> Texts {
        Texts(include_str!("../../explain.html").to_owned())
    }

    const REPORT: &str = r#"{"server":"handshake",
        "request":{"line":"GET /ws?inspect HTTP/1.1","headers":[["host","127.0.0.1:3000"],
            ["sec-websocket-key","dGhlIHNhbXBsZSBub25jZQ=="],["user-agent","<script>"],
            ["cookie","[hidden: 11 bytes; the server never shows this header's value, because …]"],
            ["…","3 more headers not shown: the report is limited to 12288 bytes"]]},
        "response":{"line":"HTTP/1.1 101 Switching Protocols","headers":[["upgrade","websocket"],
            ["sec-websocket-accept","s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]]}}"#;

    fn html(report: &str) -> String {
        let handshake = parse_handshake(report).unwrap();
        inspector_html(&texts(), &handshake, AcceptCheck::of(&handshake))
    }

    #[test]
    fn both_heads_are_shown_with_each_header_explained_and_escaped() {
        let html = html(REPORT);
        assert!(html.starts_with("<div class=http-head data-side=request><h3>Request, sent by the browser</h3>"));
        assert!(html.contains("<p class=http-line><code>GET /ws?inspect HTTP/1.1</code></p>"), "{html}");
        assert!(
            html.contains("data-name=\"host\"><dt><code>host</code></dt><dd><code>127.0.0.1:3000</code>"),
            "{html}"
        );
        assert!(html.contains("<code>&lt;script&gt;</code>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<div class=http-head data-side=response><h3>Response, sent by the server</h3>"));
        assert!(html.contains("<span class=meaning>16 random bytes"), "{html}");
    }

    #[test]
    fn a_hidden_value_shows_its_size_and_why_and_the_count_of_left_out_headers_reads_as_a_note() {
        let html = html(REPORT);
        let cookie = &html[html.find("data-name=\"cookie\"").unwrap()..];
        let cookie = &cookie[..cookie.find("</div>").unwrap()];
        assert!(cookie.contains("<dd><code>hidden (11 bytes)</code>"), "{cookie}");
        assert!(cookie.contains("The site's cookies") && cookie.contains("any site's page may open"), "{cookie}");
        let left_out = &html[html.find("data-name=\"…\"").unwrap()..];
        assert!(left_out.contains("<span class=meaning>Not a header: the report is at most 12 KiB"), "{left_out}");
    }

    #[test]
    fn the_negotiation_is_explained_in_the_heads() {
        let report = REPORT.replace(
            r#"["upgrade","websocket"],"#,
            r#"["upgrade","websocket"],["sec-websocket-extensions","permessage-deflate; server_no_context_takeover"],"#,
        );
        let html = html(&report);
        let response = &html[html.find("data-side=response").unwrap()..];
        assert!(response.contains("each with its parameters:<br><code>permessage-deflate</code> Agreed"), "{response}");
        assert!(response.contains("<br><code>server_no_context_takeover</code> The server compresses"), "{response}");
        assert!(!response.contains("No <code>Sec-WebSocket-Extensions</code>"), "{response}");
        assert!(
            response.contains("</dl><p class=\"hint negotiated\">No <code>Sec-WebSocket-Protocol</code>"),
            "{response}"
        );
        let request = &html[..html.find("data-side=response").unwrap()];
        assert!(request.contains("the browser offered no extension"), "{request}");
    }

    #[test]
    fn the_accept_value_is_recomputed_step_by_step() {
        let html = html(REPORT);
        assert!(html.contains("<li>The key: <code>dGhlIHNhbXBsZSBub25jZQ==</code></li>"), "{html}");
        assert!(html.contains("<code>s3pPLMBiTxaQ9kYGzzhZRbK+xOo=</code></li></ol></div>"), "{html}");
        let keyless = parse_handshake(&REPORT.replace("sec-websocket-key", "x-key")).unwrap();
        let html = inspector_html(&texts(), &keyless, None);
        assert!(
            html.ends_with("<p class=notice>The request has no Sec-WebSocket-Key, so there is nothing to verify.</p>")
        );
    }
}
