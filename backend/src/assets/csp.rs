//! The Content-Security-Policy of the app's pages.

use base64::Engine as _;
use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};

/// The policy for a page: scripts only from this server plus the page's own
/// inline loader (by hash), WebAssembly compilation, and sockets. WebSockets may
/// go to any host (`ws:` and `wss:`) because pointing the page at another
/// server is what the URL box is for; every other fetch stays on this origin.
pub(super) fn content_security_policy(page: &[u8]) -> HeaderValue {
    let hashes: String = inline_scripts(page)
        .map(|script| format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script))))
        .collect();
    let policy = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
}

/// The contents of every `<script>` without a `src` attribute.
fn inline_scripts(page: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = page;
    std::iter::from_fn(move || loop {
        let start = find(rest, b"<script")?;
        let tag_end = start + find(&rest[start..], b">")?;
        let tag = &rest[start..tag_end];
        let body_end = tag_end + 1 + find(&rest[tag_end + 1..], b"</script>")?;
        let body = &rest[tag_end + 1..body_end];
        rest = &rest[body_end..];
        if find(tag, b"src=").is_none() {
            return Some(body);
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_pages_inline_loader() {
        let page =
            b"<html><script type=\"module\">import init from '/a.js';</script><script src=\"/b.js\"></script></html>";
        let policy = content_security_policy(page);
        let policy = policy.to_str().unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"import init from '/a.js';"));
        assert!(policy.contains(&format!("'sha256-{expected}'")), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 1, "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'") && policy.contains("frame-ancestors 'none'"));
    }
}
