//! Entry point of the wasm bundle; trunk builds it (see `index.html`).

#![forbid(unsafe_code)]

fn main() {
    yew::Renderer::<frontend::ui::app::App>::new().render();
}
