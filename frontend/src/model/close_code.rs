//! What a `CloseEvent.code` means, in words, per RFC 6455 section 7.4 and the
//! IANA WebSocket Close Code Number Registry.

/// A one-line explanation of a close code.
pub fn meaning(code: u16) -> &'static str {
    match code {
        1000 => "Normal closure: the purpose of the connection was fulfilled",
        1001 => "Going away: the server is shutting down or the page is being left",
        1002 => "Protocol error: a peer broke the WebSocket protocol",
        1003 => "Unsupported data: a peer received a type of data it cannot accept",
        1004 => "Reserved: no meaning is defined yet",
        1005 => "No status received: the close frame carried no code (never sent on the wire)",
        1006 => {
            "Abnormal closure: the connection ended without a close frame, \
                 e.g. the server was unreachable or TCP dropped (never sent on the wire)"
        }
        1007 => "Invalid frame payload data: e.g. a text message that is not valid UTF-8",
        1008 => "Policy violation: a message broke the receiver's policy",
        1009 => "Message too big: the message exceeded the receiver's size limit",
        1010 => "Mandatory extension: the server did not negotiate an extension the client requires",
        1011 => "Internal error: the server met an unexpected condition",
        1012 => "Service restart: the server is restarting",
        1013 => "Try again later: the server is overloaded",
        1014 => "Bad gateway: a gateway received an invalid response upstream",
        1015 => "TLS handshake failure: the TLS handshake failed (never sent on the wire)",
        0..=999 => "Not used: codes below 1000 are invalid",
        1016..=2999 => "Reserved for the WebSocket protocol and its future revisions",
        3000..=3999 => "Registered with IANA for libraries, frameworks and applications",
        4000..=4999 => "Private use: the application defines what it means",
        _ => "Invalid: close codes end at 4999",
    }
}

/// The most a close reason may take: a close frame's payload is at most 125
/// bytes, two of which hold the code.
pub const MAX_REASON_BYTES: usize = 123;

/// Checks the Close code and Close reason fields before Disconnect uses them.
/// Scripts may only send 1000 or 3000–4999 (the browser throws otherwise), and
/// the reason must fit in a close frame. An empty code means 1000.
pub fn validate_close(code: &str, reason: &str) -> Result<(u16, String), String> {
    let code = code.trim();
    let number = if code.is_empty() {
        1000
    } else {
        code.parse::<u16>().map_err(|_| format!("Close code \"{code}\" is not a number from 1000 or 3000 to 4999"))?
    };
    if number != 1000 && !(3000..=4999).contains(&number) {
        return Err(format!(
            "Close code {number} cannot be sent by a page: use 1000 or a code from 3000 to 4999 ({})",
            meaning(number)
        ));
    }
    if reason.len() > MAX_REASON_BYTES {
        return Err(format!(
            "Close reason is {} bytes of UTF-8; a close frame allows at most {MAX_REASON_BYTES}",
            reason.len()
        ));
    }
    Ok((number, reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_1000_and_3000_to_4999_may_be_sent() {
        for code in ["1000", "3000", "4001", "4999", " 3500 "] {
            assert!(validate_close(code, "").is_ok(), "{code}");
        }
        assert_eq!(validate_close("", "bye"), Ok((1000, "bye".into())));
        for code in ["999", "1001", "1006", "2999", "5000"] {
            let error = validate_close(code, "").unwrap_err();
            assert!(error.starts_with(&format!("Close code {code} cannot be sent")), "{error}");
        }
        for code in ["abc", "-1", "70000", "4000.5"] {
            assert!(validate_close(code, "").unwrap_err().contains("is not a number"), "{code}");
        }
    }

    #[test]
    fn the_reason_is_measured_in_utf8_bytes() {
        assert!(validate_close("1000", &"a".repeat(123)).is_ok());
        let error = validate_close("1000", &"a".repeat(124)).unwrap_err();
        assert_eq!(error, "Close reason is 124 bytes of UTF-8; a close frame allows at most 123");
        // 62 two-byte characters are 124 bytes though only 62 characters.
        assert!(validate_close("1000", &"é".repeat(62)).is_err());
        assert!(validate_close("1000", &"é".repeat(61)).is_ok());
    }

    #[test]
    fn every_standard_code_has_its_own_meaning() {
        let cases = [
            (1000, "Normal closure"),
            (1001, "Going away"),
            (1002, "Protocol error"),
            (1003, "Unsupported data"),
            (1005, "No status received"),
            (1006, "Abnormal closure"),
            (1007, "Invalid frame payload data"),
            (1008, "Policy violation"),
            (1009, "Message too big"),
            (1010, "Mandatory extension"),
            (1011, "Internal error"),
            (1015, "TLS handshake failure"),
        ];
        for (code, start) in cases {
            assert!(meaning(code).starts_with(start), "{code}: {}", meaning(code));
        }
    }

    #[test]
    fn ranges_are_explained() {
        assert!(meaning(3000).contains("IANA"));
        assert!(meaning(3999).contains("IANA"));
        assert!(meaning(4000).starts_with("Private use"));
        assert!(meaning(4999).starts_with("Private use"));
        assert!(meaning(2000).starts_with("Reserved"));
        assert!(meaning(999).starts_with("Not used"));
        assert!(meaning(5000).starts_with("Invalid"));
    }
}
