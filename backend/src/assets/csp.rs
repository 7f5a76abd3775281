//! The Content-Security-Policy of the app's pages.

use base64::Engine as _;
use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};

/// The policy for a page: scripts and styles only from this server plus the
/// page's own inline ones (by hash: the loaders, and in the release bundle the
/// first stage and the stylesheet), WebAssembly compilation, and sockets. WebSockets may
/// go to any host (`ws:` and `wss:`) because pointing the page at another
/// server is what the URL box is for; every other fetch stays on this origin.
pub(super) fn content_security_policy(page: &[u8]) -> HeaderValue {
    let hashes = |tag: &str| -> String {
        inline_elements(page, tag)
            .map(|body| format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))))
            .collect()
    };
    let (scripts, styles) = (hashes("script"), hashes("style"));
    let policy = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{scripts}; style-src 'self'{styles}; \
         style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
}

/// The contents of every `<tag>` element without a `src` attribute.
fn inline_elements<'a>(page: &'a [u8], tag: &str) -> impl Iterator<Item = &'a [u8]> {
    let (open, close) = (format!("<{tag}").into_bytes(), format!("</{tag}>").into_bytes());
    let mut rest = page;
    std::iter::from_fn(move || loop {
        let start = find(rest, &open)?;
        let tag_end = start + find(&rest[start..], b">")?;
        let tag = &rest[start..tag_end];
        let body_end = tag_end + 1 + find(&rest[tag_end + 1..], &close)?;
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
        assert!(policy.contains("style-src 'self';"), "no inline style, no style hash: {policy}");
    }

    #[test]
    fn inline_styles_are_allowed_by_hash_too() {
        let page = b"<html><style>a{b:c}</style><script>go()</script></html>";
        let policy = content_security_policy(page);
        let policy = policy.to_str().unwrap();
        let hash = |body: &[u8]| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        assert!(policy.contains(&format!("style-src 'self' 'sha256-{}';", hash(b"a{b:c}"))), "{policy}");
        assert!(policy.contains(&format!("'wasm-unsafe-eval' 'sha256-{}';", hash(b"go()"))), "{policy}");
    }
}
