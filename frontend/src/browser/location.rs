//! Where the page was loaded from.

use crate::model::socket_url::default_socket_url;

/// The page's origin (`http://host:port`), for the HTTP endpoints.
pub fn origin() -> String {
    gloo::utils::window().location().origin().unwrap_or_default()
}

/// The socket URL for the page's own host and scheme.
pub fn page_socket_url() -> String {
    let location = gloo::utils::window().location();
    let protocol = location.protocol().unwrap_or_default();
    let host = location.host().unwrap_or_default();
    default_socket_url(&protocol, &host)
}
