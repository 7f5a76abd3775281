//! Files out of the page: a download made from text.

use wasm_bindgen::JsValue;

use crate::browser::describe_js_error;

/// Offers `text` as a file download called `name`.
pub fn download(name: &str, text: &str, mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(describe_js_error)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(describe_js_error)?;
    let document = gloo::utils::document();
    let anchor: web_sys::HtmlAnchorElement =
        wasm_bindgen::JsCast::unchecked_into(document.create_element("a").map_err(describe_js_error)?);
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // The click has started the download, which keeps its own reference.
    web_sys::Url::revoke_object_url(&url).map_err(describe_js_error)
}
