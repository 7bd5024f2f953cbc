//! Reading `Chrystoki.conf` (`Section = { key = value; }`, `//` comments) and `crystoki.ini`
//! (`[Section]`, `key=value`, `;` comments) into the lossless
//! [`Document`](crate::chrystoki::Document) pieces, with typed errors that name
//! `origin:line:col` and what was expected there. Never panics.
//!
//! Chrystoki.conf syntax accepted: section names of words separated by spaces (`LunaSA Client`);
//! a key is one word; a value is either single-quoted (`'...'`, on one line) or the text up to
//! the `;` on the same line (inner spaces kept, outer spaces not part of it), possibly empty
//! (`ServerHtl00 = ;`); any number of entries per line; `//` comments wherever whitespace may
//! stand (but not inside a value). No TAB anywhere (spec §2, S17). crystoki.ini: one header or
//! entry per line; a value is the rest of the line (a `'...'` value is unquoted when read).

use crate::chrystoki::document::{Body, Entry, Format, Item, Section};

/// A malformed file: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{col}: {kind}")]
pub struct ParseError {
    /// The file's name as given to the parser.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong at a [`ParseError`]'s place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A TAB character (the format allows none, spec §2).
    #[error("a TAB character is not allowed here ({0} allows no TABs, spec §2; use spaces)")]
    Tab(Format),
    /// Something other than a section name at the top level of a Chrystoki.conf.
    #[error("expected a section name (as in 'VirtualToken = {{'), found {0}")]
    ExpectedSectionName(String),
    /// A section name not followed by `=`.
    #[error("expected '=' after the section name '{0}'")]
    ExpectedEqualsAfterSection(String),
    /// `Name =` not followed by `{`.
    #[error("expected '{{' after '{0} ='")]
    ExpectedOpenBrace(String),
    /// The file ended inside a section.
    #[error(
        "expected '}}' to close section '{section}' (opened at line {opened}) before the end of the file"
    )]
    UnterminatedSection {
        /// The open section.
        section: String,
        /// The line of its header.
        opened: usize,
    },
    /// A new section header inside a section that was never closed.
    #[error(
        "expected '}}' to close section '{section}' (opened at line {opened}) before section '{next}' starts"
    )]
    SectionNotClosed {
        /// The open section.
        section: String,
        /// The line of its header.
        opened: usize,
        /// The header found inside it.
        next: String,
    },
    /// Something other than a key or `}` inside a Chrystoki.conf section.
    #[error("expected a key or '}}' in section '{section}', found {found}")]
    ExpectedKey {
        /// The section.
        section: String,
        /// What was there.
        found: String,
    },
    /// A key not followed by `=`.
    #[error("expected '=' after key '{0}'")]
    ExpectedEquals(String),
    /// A value not followed by `;`.
    #[error("expected ';' after the value of key '{0}'")]
    ExpectedSemicolon(String),
    /// A single-quoted value without its closing quote on the same line.
    #[error("expected a closing quote (') on the same line for the value of key '{0}'")]
    UnterminatedQuote(String),
    /// An ini header without `]`.
    #[error("expected ']' to end the section header")]
    ExpectedCloseBracket,
    /// `[]`.
    #[error("expected a section name between '[' and ']'")]
    EmptySectionName,
    /// Text after `[Name]` that is not a `;` comment.
    #[error("expected the end of the line or a ';' comment after '[{0}]'")]
    TextAfterHeader(String),
    /// An ini entry before the first header.
    #[error("expected a section header ('[Name]') before key '{0}'")]
    KeyOutsideSection(String),
    /// An ini line `=value`.
    #[error("expected a key before '='")]
    ExpectedKeyBeforeEquals,
}

struct Src<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Src<'_> {
    /// Line and column of byte offset `at`.
    fn position(&self, at: usize) -> (usize, usize) {
        let before = &self.text[..at.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = match before.rfind('\n') {
            Some(nl) => before[nl + 1..].chars().count() + 1,
            None => before.chars().count() + 1,
        };
        (line, col)
    }

    fn error(&self, at: usize, kind: ParseErrorKind) -> ParseError {
        let (line, col) = self.position(at);
        ParseError {
            origin: self.origin.to_string(),
            line,
            col,
            kind,
        }
    }

    fn check_tabs(&self, format: Format) -> Result<(), ParseError> {
        match self.text.find('\t') {
            Some(at) => Err(self.error(at, ParseErrorKind::Tab(format))),
            None => Ok(()),
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    /// Skips spaces and `\r` (not line breaks).
    fn skip_spaces(&self, mut at: usize) -> usize {
        while matches!(self.byte(at), Some(b' ' | b'\r')) {
            at += 1;
        }
        at
    }

    /// Skips whitespace, line breaks and `//` comments.
    fn skip_trivia(&self, mut at: usize) -> usize {
        loop {
            match self.byte(at) {
                Some(b' ' | b'\r' | b'\n') => at += 1,
                Some(b'/') if self.byte(at + 1) == Some(b'/') => {
                    at = self.line_end(at);
                }
                _ => return at,
            }
        }
    }

    /// Offset of the `\n` ending the line at `at` (or the text's end).
    fn line_end(&self, at: usize) -> usize {
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |n| at + n)
    }

    /// How the thing at `at` reads in a message.
    fn found(&self, at: usize) -> String {
        match self.text[at..].chars().next() {
            None => "the end of the file".to_string(),
            Some('\n') | Some('\r') => "the end of the line".to_string(),
            Some(c) => format!("'{c}'"),
        }
    }
}

/// True for a byte that ends a key word.
fn ends_key(b: u8) -> bool {
    matches!(b, b' ' | b'\r' | b'\n' | b'=' | b';' | b'{' | b'}' | b'\'')
}

fn push_item_trivia(items: &mut Vec<Item>, text: &str) {
    if text.is_empty() {
        return;
    }
    match items.last_mut() {
        Some(Item::Trivia(t)) => t.push_str(text),
        _ => items.push(Item::Trivia(text.to_string())),
    }
}

fn push_body_trivia(body: &mut Vec<Body>, text: &str) {
    if text.is_empty() {
        return;
    }
    match body.last_mut() {
        Some(Body::Trivia(t)) => t.push_str(text),
        _ => body.push(Body::Trivia(text.to_string())),
    }
}

/// Parses the Unix `Chrystoki.conf` form.
pub(crate) fn parse_conf(text: &str, origin: &str) -> Result<Vec<Item>, ParseError> {
    let src = Src { text, origin };
    src.check_tabs(Format::Conf)?;
    let mut items = Vec::new();
    let mut at = 0;
    loop {
        let start = at;
        at = src.skip_trivia(at);
        push_item_trivia(&mut items, &text[start..at]);
        if at >= text.len() {
            return Ok(items);
        }
        let (section, next) = conf_section(&src, at)?;
        items.push(Item::Section(section));
        at = next;
    }
}

/// The end of a section name starting at `at`: up to `=`, a line break, `;`, `{`, `}`, a quote
/// or `//`; trailing spaces are not part of it.
fn name_end(src: &Src<'_>, at: usize) -> usize {
    let mut end = at;
    while let Some(b) = src.byte(end) {
        if matches!(b, b'=' | b'\n' | b'\r' | b';' | b'{' | b'}' | b'\'')
            || (b == b'/' && src.byte(end + 1) == Some(b'/'))
        {
            break;
        }
        end += 1;
    }
    at + src.text[at..end].trim_end_matches(' ').len()
}

/// A section header `Name = {` starting at `at`, if that is what the line holds.
fn header_at(src: &Src<'_>, at: usize) -> Option<String> {
    let end = name_end(src, at);
    let name = &src.text[at..end];
    if name.is_empty() {
        return None;
    }
    let eq = src.skip_spaces(end);
    if src.byte(eq) != Some(b'=') {
        return None;
    }
    let brace = src.skip_spaces(eq + 1);
    (src.byte(brace) == Some(b'{')).then(|| name.to_string())
}

fn conf_section(src: &Src<'_>, start: usize) -> Result<(Section, usize), ParseError> {
    let text = src.text;
    let end = name_end(src, start);
    let name = text[start..end].to_string();
    if name.is_empty() {
        return Err(src.error(start, ParseErrorKind::ExpectedSectionName(src.found(start))));
    }
    let eq = src.skip_spaces(end);
    if src.byte(eq) != Some(b'=') {
        return Err(src.error(eq, ParseErrorKind::ExpectedEqualsAfterSection(name)));
    }
    let brace = src.skip_spaces(eq + 1);
    if src.byte(brace) != Some(b'{') {
        return Err(src.error(brace, ParseErrorKind::ExpectedOpenBrace(name)));
    }
    let opened = src.position(start).0;
    let suffix = text[end..brace + 1].to_string();
    let mut body = Vec::new();
    let mut at = brace + 1;
    loop {
        let t0 = at;
        at = src.skip_trivia(at);
        push_body_trivia(&mut body, &text[t0..at]);
        match src.byte(at) {
            None => {
                return Err(src.error(
                    at,
                    ParseErrorKind::UnterminatedSection {
                        section: name,
                        opened,
                    },
                ));
            }
            Some(b'}') => {
                let section = Section {
                    prefix: String::new(),
                    name,
                    suffix,
                    body,
                    close: "}".to_string(),
                };
                return Ok((section, at + 1));
            }
            Some(_) => {}
        }
        if let Some(next) = header_at(src, at) {
            return Err(src.error(
                at,
                ParseErrorKind::SectionNotClosed {
                    section: name,
                    opened,
                    next,
                },
            ));
        }
        let (entry, next) = conf_entry(src, at, &name)?;
        body.push(Body::Entry(entry));
        at = next;
    }
}

fn conf_entry(src: &Src<'_>, start: usize, section: &str) -> Result<(Entry, usize), ParseError> {
    let text = src.text;
    let mut key_end = start;
    while src.byte(key_end).is_some_and(|b| !ends_key(b)) {
        key_end += 1;
    }
    if key_end == start {
        return Err(src.error(
            start,
            ParseErrorKind::ExpectedKey {
                section: section.to_string(),
                found: src.found(start),
            },
        ));
    }
    let key = text[start..key_end].to_string();
    let eq = src.skip_spaces(key_end);
    if src.byte(eq) != Some(b'=') {
        return Err(src.error(eq, ParseErrorKind::ExpectedEquals(key)));
    }
    let value_start = src.skip_spaces(eq + 1);
    let value_end = match src.byte(value_start) {
        Some(b'\'') => {
            let line_end = src.line_end(value_start);
            match text[value_start + 1..line_end].find('\'') {
                Some(q) => value_start + 1 + q + 1,
                None => {
                    let at = value_start + text[value_start..line_end].trim_end_matches('\r').len();
                    return Err(src.error(at, ParseErrorKind::UnterminatedQuote(key)));
                }
            }
        }
        _ => {
            let mut end = value_start;
            while src
                .byte(end)
                .is_some_and(|b| !matches!(b, b';' | b'\n' | b'}'))
            {
                end += 1;
            }
            value_start + text[value_start..end].trim_end_matches([' ', '\r']).len()
        }
    };
    let semi = src.skip_spaces(value_end);
    if src.byte(semi) != Some(b';') {
        // At the end of a line: right after the value; else at what stands in the way.
        let at = match src.byte(semi) {
            None | Some(b'\n') => value_end,
            Some(_) => semi,
        };
        return Err(src.error(at, ParseErrorKind::ExpectedSemicolon(key)));
    }
    let entry = Entry {
        key,
        eq: text[key_end..value_start].to_string(),
        raw: text[value_start..value_end].to_string(),
        term: text[value_end..semi + 1].to_string(),
    };
    Ok((entry, semi + 1))
}

/// Parses the Windows `crystoki.ini` form.
pub(crate) fn parse_ini(text: &str, origin: &str) -> Result<Vec<Item>, ParseError> {
    let src = Src { text, origin };
    src.check_tabs(Format::Ini)?;
    let mut items: Vec<Item> = Vec::new();
    let mut current: Option<Section> = None;
    let mut at = 0;
    while at < text.len() {
        let nl = src.line_end(at);
        let next = (nl + 1).min(text.len());
        let content_end = at + text[at..nl].trim_end_matches('\r').len();
        let line = &text[at..content_end];
        let ending = &text[content_end..next];
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        if rest.is_empty() || rest.starts_with(';') {
            match current.as_mut() {
                Some(s) => push_body_trivia(&mut s.body, &text[at..next]),
                None => push_item_trivia(&mut items, &text[at..next]),
            }
        } else if rest.starts_with('[') {
            let Some(close) = rest.find(']') else {
                return Err(src.error(content_end, ParseErrorKind::ExpectedCloseBracket));
            };
            let inner = &rest[1..close];
            let name = inner.trim_matches(' ');
            if name.is_empty() {
                return Err(src.error(at + indent + close, ParseErrorKind::EmptySectionName));
            }
            let after = &rest[close + 1..];
            let after_trim = after.trim_start_matches(' ');
            if !after_trim.is_empty() && !after_trim.starts_with(';') {
                let bad = at + indent + close + 1 + (after.len() - after_trim.len());
                return Err(src.error(bad, ParseErrorKind::TextAfterHeader(name.to_string())));
            }
            if let Some(done) = current.take() {
                items.push(Item::Section(done));
            }
            let lead = &line[..indent];
            push_item_trivia(&mut items, lead);
            let name_off = inner.len() - inner.trim_start_matches(' ').len();
            let mut body = Vec::new();
            push_body_trivia(&mut body, ending);
            current = Some(Section {
                prefix: format!("[{}", &inner[..name_off]),
                name: name.to_string(),
                suffix: format!("{}]{after}", &inner[name_off + name.len()..]),
                body,
                close: String::new(),
            });
        } else {
            let Some(eq) = rest.find('=') else {
                let key = rest.trim_end_matches(' ');
                return Err(src.error(
                    at + indent + key.len(),
                    ParseErrorKind::ExpectedEquals(key.to_string()),
                ));
            };
            let key = rest[..eq].trim_end_matches(' ');
            if key.is_empty() {
                return Err(src.error(at + indent, ParseErrorKind::ExpectedKeyBeforeEquals));
            }
            let Some(section) = current.as_mut() else {
                return Err(src.error(
                    at + indent,
                    ParseErrorKind::KeyOutsideSection(key.to_string()),
                ));
            };
            let after_eq = &rest[eq + 1..];
            let value_off = after_eq.len() - after_eq.trim_start_matches(' ').len();
            let value_full = &after_eq[value_off..];
            let raw = value_full.trim_end_matches(' ');
            if raw.starts_with('\'') && !(raw.len() >= 2 && raw.ends_with('\'')) {
                return Err(src.error(
                    content_end,
                    ParseErrorKind::UnterminatedQuote(key.to_string()),
                ));
            }
            push_body_trivia(&mut section.body, &line[..indent]);
            section.body.push(Body::Entry(Entry {
                key: key.to_string(),
                eq: rest[key.len()..eq + 1 + value_off].to_string(),
                raw: raw.to_string(),
                term: value_full[raw.len()..].to_string(),
            }));
            push_body_trivia(&mut section.body, ending);
        }
        at = next;
    }
    if let Some(done) = current.take() {
        items.push(Item::Section(done));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use crate::chrystoki::document::Document;

    fn conf_err(text: &str) -> String {
        Document::parse(text, "Chrystoki.conf")
            .unwrap_err()
            .to_string()
    }

    fn ini_err(text: &str) -> String {
        Document::parse(text, "crystoki.ini")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn entries_and_values_are_read() {
        let d = Document::parse(
            "// c\nLunaSA Client = {\n  A = 1; B='x y' ;\n  C = ;\n  D = a b c;// t\n}\nE={}",
            "Chrystoki.conf",
        )
        .unwrap();
        let s: Vec<_> = d.sections().map(|s| s.name().to_string()).collect();
        assert_eq!(s, ["LunaSA Client", "E"]);
        let e: Vec<_> = d
            .entries_of("LunaSA Client")
            .map(|e| (e.key().to_string(), e.value().to_string()))
            .collect();
        assert_eq!(
            e,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "x y".to_string()),
                ("C".to_string(), String::new()),
                ("D".to_string(), "a b c".to_string()),
            ]
        );
    }

    #[test]
    fn tab_is_refused_with_its_place() {
        assert_eq!(
            conf_err("A = {\n   x = 1;\n\ty = 2;\n}\n"),
            "Chrystoki.conf:3:1: a TAB character is not allowed here (Chrystoki.conf allows no TABs, spec §2; use spaces)"
        );
        assert_eq!(
            ini_err("[A]\nx=1\t\n"),
            "crystoki.ini:2:4: a TAB character is not allowed here (crystoki.ini allows no TABs, spec §2; use spaces)"
        );
    }

    #[test]
    fn missing_semicolon_points_after_the_value() {
        assert_eq!(
            conf_err("HAConfiguration = {\n   reconnAtt = 3;\n   HAOnly = 1\n}\n"),
            "Chrystoki.conf:3:14: expected ';' after the value of key 'HAOnly'"
        );
        assert_eq!(
            conf_err("A = {\n   x = 'q' y;\n}\n"),
            "Chrystoki.conf:2:12: expected ';' after the value of key 'x'"
        );
        assert_eq!(
            conf_err("A = { x = 1 }"),
            "Chrystoki.conf:1:13: expected ';' after the value of key 'x'"
        );
    }

    #[test]
    fn unterminated_sections_are_named() {
        assert_eq!(
            conf_err("A = {\n   x = 1;\n"),
            "Chrystoki.conf:3:1: expected '}' to close section 'A' (opened at line 1) before the end of the file"
        );
        assert_eq!(
            conf_err("VirtualToken = {\n   x = 1;\nLunaSA Client = {\n   y = 2;\n}\n"),
            "Chrystoki.conf:3:1: expected '}' to close section 'VirtualToken' (opened at line 1) before section 'LunaSA Client' starts"
        );
    }

    #[test]
    fn other_conf_errors() {
        assert_eq!(
            conf_err("}\n"),
            "Chrystoki.conf:1:1: expected a section name (as in 'VirtualToken = {'), found '}'"
        );
        assert_eq!(
            conf_err("Misc {\n}\n"),
            "Chrystoki.conf:1:6: expected '=' after the section name 'Misc'"
        );
        assert_eq!(
            conf_err("Misc = \n"),
            "Chrystoki.conf:1:8: expected '{' after 'Misc ='"
        );
        assert_eq!(
            conf_err("Misc = {\n  x 1;\n}"),
            "Chrystoki.conf:2:5: expected '=' after key 'x'"
        );
        assert_eq!(
            conf_err("Misc = {\n  = 1;\n}"),
            "Chrystoki.conf:2:3: expected a key or '}' in section 'Misc', found '='"
        );
        assert_eq!(
            conf_err("Misc = {\n  x = 'abc;\n}"),
            "Chrystoki.conf:2:12: expected a closing quote (') on the same line for the value of key 'x'"
        );
        assert_eq!(
            conf_err("Misc = {\n  x = { y = 1; };\n}"),
            "Chrystoki.conf:2:3: expected '}' to close section 'Misc' (opened at line 1) before section 'x' starts"
        );
    }

    #[test]
    fn ini_errors() {
        assert_eq!(
            ini_err("x=1\n"),
            "crystoki.ini:1:1: expected a section header ('[Name]') before key 'x'"
        );
        assert_eq!(
            ini_err("[A\n"),
            "crystoki.ini:1:3: expected ']' to end the section header"
        );
        assert_eq!(
            ini_err("[ ]\n"),
            "crystoki.ini:1:3: expected a section name between '[' and ']'"
        );
        assert_eq!(
            ini_err("[A] x\n"),
            "crystoki.ini:1:5: expected the end of the line or a ';' comment after '[A]'"
        );
        assert_eq!(
            ini_err("[A]\n  novalue\n"),
            "crystoki.ini:2:10: expected '=' after key 'novalue'"
        );
        assert_eq!(
            ini_err("[A]\n=1\n"),
            "crystoki.ini:2:1: expected a key before '='"
        );
        assert_eq!(
            ini_err("[A]\nx='abc\n"),
            "crystoki.ini:2:7: expected a closing quote (') on the same line for the value of key 'x'"
        );
    }

    #[test]
    fn non_ascii_text_is_kept_and_columns_count_characters() {
        let text = "Misc = {\n   Ort = 'Zürich';\n   Größe = äöü;\n}\n";
        let d = Document::parse(text, "Chrystoki.conf").unwrap();
        assert_eq!(d.to_text(), text);
        // ASCII case-insensitive only: `g`/`G` match, `ö`/`Ö` do not.
        assert_eq!(d.value("Misc", "größe"), Some("äöü"));
        assert_eq!(d.value("Misc", "GRÖßE"), None);
        assert_eq!(d.value("Misc", "Größe"), Some("äöü"));
        assert_eq!(d.value_position("Misc", "Größe"), Some((3, 12)));
        assert_eq!(
            conf_err("Misc = {\n   Größe = äöü\n}\n"),
            "Chrystoki.conf:2:15: expected ';' after the value of key 'Größe'"
        );
    }

    #[test]
    fn ini_reads_spaced_keys_and_quoted_values() {
        let text = "; top\n[ Sec One ] ; c\n  Key A = 'v w'  \nB=\n\n[C]";
        let d = Document::parse(text, "crystoki.ini").unwrap();
        assert_eq!(d.to_text(), text);
        assert_eq!(d.value("Sec One", "Key A"), Some("v w"));
        assert_eq!(d.value("sec one", "b"), Some(""));
        assert_eq!(d.sections().count(), 2);
    }
}
