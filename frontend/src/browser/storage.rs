//! `localStorage`, as plain strings: what is stored, and in what format, is
//! the model's business (`model/settings.rs`).

fn storage() -> Option<web_sys::Storage> {
    gloo::utils::window().local_storage().ok().flatten()
}

/// The text stored under `key`; empty when there is none or storage is blocked.
pub fn load(key: &str) -> String {
    storage().and_then(|storage| storage.get_item(key).ok().flatten()).unwrap_or_default()
}

/// Stores `text` under `key`; a full or blocked storage is ignored, as the
/// page works the same without it.
pub fn save(key: &str, text: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, text);
    }
}
