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
    if !text.chars().any(needs) {
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
}
