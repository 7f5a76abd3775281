//! Entry point of the first stage's wasm module; trunk builds it (see `index.html`).

#![forbid(unsafe_code)]

fn main() {
    boot::stage::start();
}
