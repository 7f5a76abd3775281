//! What the page borrows from the browser rather than compiling into the
//! wasm: the model takes these as plain functions, so natively the standard
//! library's own stand in.

use wasm_bindgen::JsCast;

/// `text` lowercased by `String.prototype.toLowerCase`, so the wasm carries
/// no Unicode case tables (see `model::filter::Lowercase`).
pub fn lowercase(text: &str) -> String {
    String::from(js_sys::JsString::from(text).to_lower_case())
}

/// `samples` sorted ascending by the typed array's own numeric sort, so the
/// wasm carries no sorting code (see `model::stats::Sort`).
pub fn sorted(samples: &[f64]) -> Vec<f64> {
    let array = js_sys::Float64Array::from(samples);
    // js_sys has no binding for `TypedArray.prototype.sort`; look it up.
    let sort =
        js_sys::Reflect::get(&array, &"sort".into()).ok().and_then(|sort| sort.dyn_into::<js_sys::Function>().ok());
    if let Some(sort) = sort {
        let _ = sort.call0(&array);
    }
    array.to_vec()
}
