//! The note the app leaves for the page's first stage (the `boot` crate):
//! both sides must agree on where Connect goes, or the first connection of a
//! page load would go somewhere the app's Connect would not.

use frontend::model::draft::Mode;
use frontend::model::session::{Action, Session, Setting};
use frontend::model::settings::FIRST_STAGE_KEY;

#[test]
fn both_sides_use_the_same_key() {
    assert_eq!(FIRST_STAGE_KEY, boot::text::NOTE_KEY);
}

#[test]
fn with_the_settings_untouched_the_note_says_what_the_first_stage_assumes_without_one() {
    let session = Session::new("ws://127.0.0.1:3000/ws".into(), 1);
    let note = session.first_stage_note();
    assert_eq!(note, "ws://127.0.0.1:3000/ws?inspect\n\nText");
    assert_eq!(boot::text::parse_note(&note), Some(boot::text::default_target("http:", "127.0.0.1:3000")));
}

#[test]
fn the_note_follows_the_url_the_protocols_the_report_and_the_mode() {
    let mut session = Session::new("ws://127.0.0.1:3000/ws".into(), 1);
    session.apply(Action::EditUrl("wss://echo.example/ws?room=1".into()));
    session.apply(Action::Set(Setting::Protocols("chat, v2 ,,".into())));
    let target = boot::text::parse_note(&session.first_stage_note()).unwrap();
    assert_eq!(target.url, "wss://echo.example/ws?room=1&inspect");
    assert_eq!(target.protocols, ["chat", "v2"]);
    assert!(target.text_mode);

    session.apply(Action::Set(Setting::Inspect(false)));
    session.apply(Action::Set(Setting::Mode(Mode::Json)));
    let target = boot::text::parse_note(&session.first_stage_note()).unwrap();
    assert_eq!(target.url, "wss://echo.example/ws?room=1");
    assert!(!target.text_mode, "the first stage leaves JSON mode's checks to the app");
}
