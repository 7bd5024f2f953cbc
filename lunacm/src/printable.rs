//! Text typed by a user, made safe to show: control characters (ESC, NUL, ...) are written as
//! escapes (`\x1b`, `\0`, `\u{85}`) so that nothing typed at the prompt or written in a scenario
//! reaches a terminal raw. Line ends are the caller's business: [`escape`] escapes `\n` and
//! `\r` too; [`escape_lines`] keeps `\n` (for multi-line output).

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character escaped (`\n` included).
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_keeping(text, false)
}

/// `text` with every control character but `\n` escaped.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_keeping(text, true)
}

fn escape_keeping(text: &str, keep_newline: bool) -> Cow<'_, str> {
    let needs = |c: char| c.is_control() && !(keep_newline && c == '\n');
    if !has_control(text.as_bytes(), keep_newline) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs(c) {
            out.push(c);
            continue;
        }
        match c {
            '\0' => out.push_str("\\0"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// Whether `bytes` (UTF-8) hold a control character (`char::is_control`: U+0000..=U+001F,
/// U+007F..=U+009F), `\n` aside when `keep_newline`. Byte by byte, without decoding: C0 and
/// DEL are single bytes, C1 is `0xC2 0x80..=0x9F`, and no other character's encoding holds a
/// byte below 0x20, the byte 0x7F or the lead byte 0xC2.
fn has_control(bytes: &[u8], keep_newline: bool) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        (b < 0x20 && !(keep_newline && b == b'\n'))
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|&n| n <= 0x9f))
    })
}

/// `'text'`, escaped.
pub fn quoted(text: &str) -> String {
    format!("'{}'", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape("nul\0"), "nul\\0");
        assert_eq!(escape("t\tr\r\n"), "t\\tr\\r\\n");
        assert_eq!(escape("\u{85}"), "\\u{85}");
        assert_eq!(escape_lines("a\u{7}\nb"), "a\\x07\nb");
        assert_eq!(quoted("g\u{1b}"), "'g\\x1b'");
    }

    #[test]
    fn the_byte_scan_agrees_with_char_is_control() {
        // Characters from U+0000 to U+2FFF and around U+FFFF, alone and framed, both ways.
        for code in (0u32..0x3000).chain(0xfff0..0x1_0010) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            for keep in [false, true] {
                let expected = c.is_control() && !(keep && c == '\n');
                let alone = c.to_string();
                assert_eq!(
                    has_control(alone.as_bytes(), keep),
                    expected,
                    "{code:x} {keep}"
                );
                let framed = format!("é{c}\u{a0}");
                assert_eq!(
                    has_control(framed.as_bytes(), keep),
                    expected,
                    "{code:x} {keep}"
                );
            }
        }
        assert!(matches!(escape_lines("a\nb é \u{a0}"), Cow::Borrowed(_)));
    }
}
