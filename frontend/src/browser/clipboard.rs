//! The clipboard.

use wasm_bindgen::JsValue;

/// Puts `text` on the clipboard. The promise's outcome is not awaited: the
/// browser may still refuse (no permission, no focus), and nothing depends on it.
pub fn copy_text(text: &str) -> Result<(), String> {
    // `navigator.clipboard` exists only in secure contexts (https, localhost);
    // calling through a missing one would throw inside the wasm.
    let navigator = gloo::utils::window().navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .ok()
        .filter(|clipboard| !clipboard.is_undefined() && !clipboard.is_null())
        .ok_or("the clipboard is only available to https pages (and localhost)")?;
    let _ = wasm_bindgen::JsCast::unchecked_into::<web_sys::Clipboard>(clipboard).write_text(text);
    Ok(())
}
