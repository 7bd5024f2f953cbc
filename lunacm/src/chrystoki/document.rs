//! The lossless document model of a `Chrystoki.conf` / `crystoki.ini` file: sections, entries
//! and the exact text between them (whitespace, comments, line endings), so that writing an
//! unchanged document reproduces its input byte for byte, and an edit changes only the text it
//! must (one value, one appended entry, one appended section, one removed line).
//!
//! Section names and keys are looked up ASCII case-insensitively; the first match wins. Writing
//! a value keeps the key's spelling, the separator around `=`, the terminator (`;` with its
//! spacing) and the value's quoting; new entries and sections copy the file's own style.

use std::fmt;

use crate::chrystoki::parse::{self, ParseError};

/// Which of the two file formats a document is written in (spec §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// The Unix `Chrystoki.conf`: `Section = { key = value; ... }`, `//` comments.
    Conf,
    /// The Windows `crystoki.ini`: `[Section]`, `key=value` lines, `;` comments.
    Ini,
}

impl Format {
    /// The file name this format is known by, as used in messages.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Conf => "Chrystoki.conf",
            Format::Ini => "crystoki.ini",
        }
    }

    /// The format of a text named `origin`: a name ending in `.ini` is [`Format::Ini`], one
    /// ending in `.conf` is [`Format::Conf`] (both ASCII case-insensitive); any other name is
    /// decided by [`Format::sniff`].
    pub fn for_origin(origin: &str, text: &str) -> Format {
        let lower = origin.to_ascii_lowercase();
        if lower.ends_with(".ini") {
            Format::Ini
        } else if lower.ends_with(".conf") {
            Format::Conf
        } else {
            Format::sniff(text)
        }
    }

    /// The format a text looks like: [`Format::Ini`] when its first line that is neither blank
    /// nor a `//` comment starts with `[` or `;`, else [`Format::Conf`].
    pub fn sniff(text: &str) -> Format {
        for line in text.lines() {
            let t = line.trim_start_matches([' ', '\r']);
            if t.is_empty() || t.starts_with("//") {
                continue;
            }
            return if t.starts_with('[') || t.starts_with(';') {
                Format::Ini
            } else {
                Format::Conf
            };
        }
        Format::Conf
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// One `key = value` entry with the exact text of each part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key as written.
    pub(crate) key: String,
    /// From the end of the key to the start of the value: spaces, `=`, spaces.
    pub(crate) eq: String,
    /// The value as written, quotes included (may be empty).
    pub(crate) raw: String,
    /// After the value: spaces and `;` (Conf), trailing spaces (Ini).
    pub(crate) term: String,
}

impl Entry {
    /// The key as written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value text as written, single quotes included.
    pub fn raw_value(&self) -> &str {
        &self.raw
    }

    /// True when the value is wrapped in single quotes.
    pub fn is_quoted(&self) -> bool {
        is_quoted(&self.raw)
    }

    /// The value's meaning: the text inside the quotes when quoted, else as written.
    pub fn value(&self) -> &str {
        unquote(&self.raw)
    }

    fn write_to(&self, out: &mut String) {
        out.push_str(&self.key);
        out.push_str(&self.eq);
        out.push_str(&self.raw);
        out.push_str(&self.term);
    }
}

/// True when `raw` is `'...'`.
pub(crate) fn is_quoted(raw: &str) -> bool {
    raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'')
}

/// The text inside single quotes, or `raw` itself.
pub(crate) fn unquote(raw: &str) -> &str {
    if is_quoted(raw) {
        &raw[1..raw.len() - 1]
    } else {
        raw
    }
}

/// A piece of a section's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// Whitespace, comments, line endings.
    Trivia(String),
    /// An entry.
    Entry(Entry),
}

/// A section with its exact text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Before the name: `[` and spaces (Ini); empty (Conf).
    pub(crate) prefix: String,
    /// The name as written (may contain spaces: `LunaSA Client`).
    pub(crate) name: String,
    /// After the name: ` = {` (Conf); `]` and the rest of the header line (Ini).
    pub(crate) suffix: String,
    /// Entries and the text between them.
    pub(crate) body: Vec<Body>,
    /// `}` (Conf); empty (Ini).
    pub(crate) close: String,
}

impl Section {
    /// The section's name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entries in file order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.body.iter().filter_map(|b| match b {
            Body::Entry(e) => Some(e),
            Body::Trivia(_) => None,
        })
    }

    fn write_to(&self, out: &mut String) {
        out.push_str(&self.prefix);
        out.push_str(&self.name);
        out.push_str(&self.suffix);
        for b in &self.body {
            match b {
                Body::Trivia(t) => out.push_str(t),
                Body::Entry(e) => e.write_to(out),
            }
        }
        out.push_str(&self.close);
    }
}

/// A top-level piece of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// Whitespace, comments, line endings between sections.
    Trivia(String),
    /// A section.
    Section(Section),
}

/// Why a value (or a key) cannot be written in a document's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The text contains a character the format cannot hold in a value or key.
    #[error("it contains a {0}, which {1} cannot hold")]
    Character(&'static str, Format),
    /// The value needs quotes but contains a single quote.
    #[error("it needs single quotes but contains a single quote")]
    QuoteInQuoted,
    /// The key is not a single word the format can read back.
    #[error(
        "'{0}' is not usable as a key (a key is one word without '=', ';', '{{', '}}' or quotes)"
    )]
    Key(String),
}

/// A parsed `Chrystoki.conf` or `crystoki.ini`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub(crate) format: Format,
    pub(crate) origin: String,
    pub(crate) items: Vec<Item>,
}

/// Where an entry lives: item index, body index.
type At = (usize, usize);

/// The style new entries and sections copy from the file.
struct Style {
    newline: &'static str,
    indent: String,
    eq: String,
    term: String,
    open: String,
}

impl Document {
    /// An empty document of `format`, named `origin` in messages.
    pub fn empty(format: Format, origin: &str) -> Document {
        Document {
            format,
            origin: origin.to_string(),
            items: Vec::new(),
        }
    }

    /// Parses `text`, in the format [`Format::for_origin`] picks; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Document, ParseError> {
        Document::parse_as(text, origin, Format::for_origin(origin, text))
    }

    /// Parses `text` as `format`.
    pub fn parse_as(text: &str, origin: &str, format: Format) -> Result<Document, ParseError> {
        let items = match format {
            Format::Conf => parse::parse_conf(text, origin)?,
            Format::Ini => parse::parse_ini(text, origin)?,
        };
        Ok(Document {
            format,
            origin: origin.to_string(),
            items,
        })
    }

    /// The document's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The name the document goes by in messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// True when the document has no text at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The document's full text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Trivia(t) => out.push_str(t),
                Item::Section(s) => s.write_to(&mut out),
            }
        }
        out
    }

    /// The sections in file order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.items.iter().filter_map(|i| match i {
            Item::Section(s) => Some(s),
            Item::Trivia(_) => None,
        })
    }

    /// The first entry `key` in a section named `section` (both ASCII case-insensitive).
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        let (i, b) = self.find(section, key)?;
        self.entry_at(i, b)
    }

    /// The meaning of the first entry `key` of `section` (inside quotes when quoted).
    pub fn value(&self, section: &str, key: &str) -> Option<&str> {
        self.get(section, key).map(Entry::value)
    }

    /// Entries of every section named `section`, in file order.
    pub fn entries_of<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.sections()
            .filter(move |s| s.name.eq_ignore_ascii_case(section))
            .flat_map(Section::entries)
    }

    /// 1-based line and column (in characters) where the value of the first entry `key` of
    /// `section` starts.
    pub fn value_position(&self, section: &str, key: &str) -> Option<(usize, usize)> {
        let (target_item, target_body) = self.find(section, key)?;
        let mut cursor = Cursor::default();
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Trivia(t) => cursor.advance(t),
                Item::Section(s) => {
                    cursor.advance(&s.prefix);
                    cursor.advance(&s.name);
                    cursor.advance(&s.suffix);
                    for (b, body) in s.body.iter().enumerate() {
                        match body {
                            Body::Trivia(t) => cursor.advance(t),
                            Body::Entry(e) => {
                                cursor.advance(&e.key);
                                cursor.advance(&e.eq);
                                if (i, b) == (target_item, target_body) {
                                    return Some((cursor.line, cursor.col));
                                }
                                cursor.advance(&e.raw);
                                cursor.advance(&e.term);
                            }
                        }
                    }
                    cursor.advance(&s.close);
                }
            }
        }
        None
    }

    /// Sets the value of `key` in `section` to mean `value`. An existing entry changes only its
    /// value text (keeping its quoting when it has one); a missing key is appended to the
    /// section, and a missing section is appended to the end of the file, both in the file's
    /// own style. Nothing changes when `value` cannot be written in this format.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> Result<(), WriteError> {
        if let Some((i, b)) = self.find(section, key) {
            let quoted = self.entry_at(i, b).is_some_and(Entry::is_quoted);
            let raw = self.render_value(value, quoted)?;
            if let Some(entry) = self.entry_at_mut(i, b) {
                entry.raw = raw;
            }
            return Ok(());
        }
        self.check_key(key)?;
        let raw = self.render_value(value, false)?;
        let style = self.style();
        let entry = Entry {
            key: key.to_string(),
            eq: style.eq.clone(),
            raw,
            term: style.term.clone(),
        };
        match self.section_index(section) {
            Some(i) => self.append_entry(i, entry, &style),
            None => self.append_section(section, entry, &style),
        }
        Ok(())
    }

    /// Removes the first entry `key` of `section`. An entry alone on its line takes the line
    /// with it; a comment after it on the same line stays (at the entry's place), as do all
    /// other comments. Returns false when there is no such entry.
    pub fn remove(&mut self, section: &str, key: &str) -> bool {
        let Some((i, b)) = self.find(section, key) else {
            return false;
        };
        let Some(Item::Section(s)) = self.items.get_mut(i) else {
            return false;
        };
        s.body.remove(b);
        let comment_follows = match s.body.get(b) {
            Some(Body::Trivia(after)) => {
                let line = after.split('\n').next().unwrap_or_default();
                !line.trim_matches([' ', '\r']).is_empty()
            }
            _ => false,
        };
        if comment_follows {
            if let Some(Body::Trivia(after)) = s.body.get_mut(b) {
                *after = after.trim_start_matches(' ').to_string();
            }
        } else if let Some(Body::Trivia(before)) = b.checked_sub(1).and_then(|p| s.body.get_mut(p))
        {
            match before.rfind('\n') {
                Some(nl) if before[nl + 1..].chars().all(|c| c == ' ') => {
                    let cut = if nl > 0 && before.as_bytes()[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    before.truncate(cut);
                }
                _ => {
                    let kept = before.trim_end_matches(' ').len();
                    before.truncate(kept);
                }
            }
        }
        normalize(&mut s.body);
        true
    }

    // ---- internals ----------------------------------------------------------------------

    fn section_index(&self, section: &str) -> Option<usize> {
        self.items
            .iter()
            .position(|i| matches!(i, Item::Section(s) if s.name.eq_ignore_ascii_case(section)))
    }

    pub(crate) fn find(&self, section: &str, key: &str) -> Option<At> {
        for (i, item) in self.items.iter().enumerate() {
            let Item::Section(s) = item else { continue };
            if !s.name.eq_ignore_ascii_case(section) {
                continue;
            }
            for (b, body) in s.body.iter().enumerate() {
                if let Body::Entry(e) = body
                    && e.key.eq_ignore_ascii_case(key)
                {
                    return Some((i, b));
                }
            }
        }
        None
    }

    fn entry_at(&self, i: usize, b: usize) -> Option<&Entry> {
        match self.items.get(i) {
            Some(Item::Section(s)) => match s.body.get(b) {
                Some(Body::Entry(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    fn entry_at_mut(&mut self, i: usize, b: usize) -> Option<&mut Entry> {
        match self.items.get_mut(i) {
            Some(Item::Section(s)) => match s.body.get_mut(b) {
                Some(Body::Entry(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value text that reads back as `value`, quoted when `quoted` or when needed.
    ///
    /// Both formats need quotes around a value with a space at either end (outer spaces are not
    /// part of an unquoted value) and around a value starting with `'` (read unquoted, it would
    /// be taken for a quoted value, or refused as an unterminated one). A Chrystoki.conf value
    /// also needs them for `;`, `}` and a leading `{`. A crystoki.ini value is the rest of its
    /// line and only its outer quotes are taken off, so any value can be quoted there; a
    /// Chrystoki.conf quoted value ends at the next `'`, so a value that needs quotes and holds
    /// a `'` cannot be written ([`WriteError::QuoteInQuoted`]).
    fn render_value(&self, value: &str, quoted: bool) -> Result<String, WriteError> {
        if value.contains('\n') || value.contains('\r') {
            return Err(WriteError::Character("line break", self.format));
        }
        if value.contains('\t') {
            return Err(WriteError::Character("TAB", self.format));
        }
        let edge_space = value.starts_with(' ') || value.ends_with(' ');
        let needs = edge_space
            || value.starts_with('\'')
            || match self.format {
                Format::Conf => {
                    value.contains(';') || value.contains('}') || value.starts_with('{')
                }
                Format::Ini => false,
            };
        if !(quoted || needs) {
            return Ok(value.to_string());
        }
        match self.format {
            Format::Ini => Ok(format!("'{value}'")),
            Format::Conf if !value.contains('\'') => Ok(format!("'{value}'")),
            Format::Conf if needs => Err(WriteError::QuoteInQuoted),
            // Quoted in the file before, but this value cannot be quoted and need not be.
            Format::Conf => Ok(value.to_string()),
        }
    }

    fn check_key(&self, key: &str) -> Result<(), WriteError> {
        let bad = key.is_empty()
            || key.starts_with("//")
            || key.starts_with('[')
            || key.starts_with(';')
            || key
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '=' | ';' | '{' | '}' | '\'' | '['));
        if bad {
            Err(WriteError::Key(key.to_string()))
        } else {
            Ok(())
        }
    }

    fn style(&self) -> Style {
        let newline = if self.to_text().contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let (mut indent, mut eq, mut term) = match self.format {
            Format::Conf => ("   ".to_string(), " = ".to_string(), ";".to_string()),
            Format::Ini => (String::new(), "=".to_string(), String::new()),
        };
        let mut open = " = {".to_string();
        let mut found_entry = false;
        let mut found_open = false;
        for item in &self.items {
            let Item::Section(s) = item else { continue };
            if !found_open && self.format == Format::Conf {
                open = s.suffix.clone();
                found_open = true;
            }
            if found_entry {
                continue;
            }
            let mut before = "";
            for body in &s.body {
                match body {
                    Body::Trivia(t) => before = t,
                    Body::Entry(e) => {
                        if let Some(nl) = before.rfind('\n') {
                            indent = before[nl + 1..].to_string();
                        }
                        eq = e.eq.clone();
                        if self.format == Format::Conf {
                            term = e.term.clone();
                        }
                        found_entry = true;
                        break;
                    }
                }
            }
        }
        Style {
            newline,
            indent,
            eq,
            term,
            open,
        }
    }

    fn append_entry(&mut self, i: usize, entry: Entry, style: &Style) {
        let Some(Item::Section(s)) = self.items.get_mut(i) else {
            return;
        };
        let last = s.body.iter().rposition(|b| matches!(b, Body::Entry(_)));
        match last {
            Some(last) => {
                let before = match last.checked_sub(1).and_then(|p| s.body.get(p)) {
                    Some(Body::Trivia(t)) => t.clone(),
                    _ => String::new(),
                };
                let lead = match before.rfind('\n') {
                    Some(nl) => format!("{}{}", style.newline, &before[nl + 1..]),
                    None if before.is_empty() => " ".to_string(),
                    None => before,
                };
                // After the rest of the last entry's line (a trailing comment stays with it).
                let mut at = last + 1;
                if let Some(Body::Trivia(after)) = s.body.get(last + 1)
                    && let Some(nl) = after.find('\n')
                {
                    let cut = if nl > 0 && after.as_bytes()[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    let (same_line, rest) = after.split_at(cut);
                    let (same_line, rest) = (same_line.to_string(), rest.to_string());
                    s.body.splice(
                        last + 1..last + 2,
                        [Body::Trivia(same_line), Body::Trivia(rest)],
                    );
                    at = last + 2;
                }
                s.body
                    .splice(at..at, [Body::Trivia(lead), Body::Entry(entry)]);
            }
            None => {
                let rest = match s.body.first() {
                    Some(Body::Trivia(t)) => t.clone(),
                    _ => String::new(),
                };
                let body = if rest.contains('\n') {
                    let lead = format!("{}{}", style.newline, style.indent);
                    vec![Body::Trivia(lead), Body::Entry(entry), Body::Trivia(rest)]
                } else if self.format == Format::Ini {
                    // An empty section header at the very end of the file.
                    vec![
                        Body::Trivia(format!("{rest}{}", style.newline)),
                        Body::Entry(entry),
                    ]
                } else {
                    let rest = if rest.is_empty() {
                        " ".to_string()
                    } else {
                        rest
                    };
                    vec![
                        Body::Trivia(" ".to_string()),
                        Body::Entry(entry),
                        Body::Trivia(rest),
                    ]
                };
                s.body = body;
            }
        }
        normalize(&mut s.body);
    }

    fn append_section(&mut self, name: &str, entry: Entry, style: &Style) {
        let nl = style.newline;
        let text = self.to_text();
        let mut sep = String::new();
        if !text.is_empty() {
            if !text.ends_with('\n') {
                sep.push_str(nl);
            }
            sep.push_str(nl);
        }
        if !sep.is_empty() {
            match self.items.last_mut() {
                Some(Item::Trivia(t)) => t.push_str(&sep),
                _ => self.items.push(Item::Trivia(sep)),
            }
        }
        let section = match self.format {
            Format::Conf => Section {
                prefix: String::new(),
                name: name.to_string(),
                suffix: style.open.clone(),
                body: vec![
                    Body::Trivia(format!("{nl}{}", style.indent)),
                    Body::Entry(entry),
                    Body::Trivia(nl.to_string()),
                ],
                close: "}".to_string(),
            },
            Format::Ini => Section {
                prefix: "[".to_string(),
                name: name.to_string(),
                suffix: "]".to_string(),
                body: vec![
                    Body::Trivia(format!("{nl}{}", style.indent)),
                    Body::Entry(entry),
                ],
                close: String::new(),
            },
        };
        self.items.push(Item::Section(section));
        self.items.push(Item::Trivia(nl.to_string()));
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Merges adjacent trivia and drops empty trivia.
fn normalize(body: &mut Vec<Body>) {
    let mut out: Vec<Body> = Vec::with_capacity(body.len());
    for b in body.drain(..) {
        match (out.last_mut(), b) {
            (_, Body::Trivia(t)) if t.is_empty() => {}
            (Some(Body::Trivia(prev)), Body::Trivia(t)) => prev.push_str(&t),
            (_, b) => out.push(b),
        }
    }
    *body = out;
}

/// Line and column bookkeeping over text pieces (columns count characters, from 1).
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor { line: 1, col: 1 }
    }
}

impl Cursor {
    pub(crate) fn advance(&mut self, text: &str) {
        for c in text.chars() {
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "// Luna client configuration\n\
Chrystoki2 = {\n   LibUNIX = /usr/safenet/lunaclient/lib/libCryptoki2.so;\n}\n\n\
LunaSA Client = {\n   ReceiveTimeout = 20000;\n   ServerHtl00 = ;\n   ServerName00 = 'hsm one.example';\n}\n";

    fn doc(text: &str) -> Document {
        Document::parse(text, "Chrystoki.conf").unwrap()
    }

    #[test]
    fn unchanged_document_is_byte_identical() {
        assert_eq!(doc(CONF).to_text(), CONF);
        assert_eq!(doc("").to_text(), "");
    }

    #[test]
    fn lookups_are_case_insensitive_and_unquote() {
        let d = doc(CONF);
        assert_eq!(
            d.value("lunasa client", "servername00"),
            Some("hsm one.example")
        );
        assert_eq!(
            d.get("LunaSA Client", "ServerName00").unwrap().raw_value(),
            "'hsm one.example'"
        );
        assert_eq!(d.value("LunaSA Client", "ServerHtl00"), Some(""));
        assert_eq!(d.value("LunaSA Client", "Nope"), None);
        assert_eq!(
            d.value_position("LunaSA Client", "ReceiveTimeout"),
            Some((7, 21))
        );
        assert_eq!(d.value_position("Chrystoki2", "LibUNIX"), Some((3, 14)));
    }

    #[test]
    fn set_changes_only_the_value_text() {
        let mut d = doc(CONF);
        d.set("LunaSA Client", "ReceiveTimeout", "30000").unwrap();
        assert_eq!(d.to_text(), CONF.replace("= 20000;", "= 30000;"));
        d.set("LunaSA Client", "ServerName00", "other").unwrap();
        assert!(d.to_text().contains("   ServerName00 = 'other';\n"));
        d.set("LunaSA Client", "ServerHtl00", "7").unwrap();
        assert!(d.to_text().contains("   ServerHtl00 = 7;\n"));
    }

    #[test]
    fn set_appends_a_key_in_the_sections_style() {
        let mut d = doc(CONF);
        d.set("Chrystoki2", "LibUNIX64", "/lib64.so").unwrap();
        assert_eq!(
            d.to_text(),
            CONF.replace(
                "libCryptoki2.so;\n}",
                "libCryptoki2.so;\n   LibUNIX64 = /lib64.so;\n}"
            )
        );
    }

    #[test]
    fn set_appends_a_section_at_the_end() {
        let mut d = doc(CONF);
        d.set("HAConfiguration", "reconnAtt", "3").unwrap();
        assert_eq!(
            d.to_text(),
            format!("{CONF}\nHAConfiguration = {{\n   reconnAtt = 3;\n}}\n")
        );
        let mut e = Document::empty(Format::Conf, "Chrystoki.conf");
        e.set("VirtualToken", "VirtualToken00Label", "g").unwrap();
        e.set("VirtualToken", "VirtualToken00SN", "11").unwrap();
        assert_eq!(
            e.to_text(),
            "VirtualToken = {\n   VirtualToken00Label = g;\n   VirtualToken00SN = 11;\n}\n"
        );
    }

    #[test]
    fn compact_style_is_copied() {
        let text = "A = {\nx=1;\n}\n";
        let mut d = doc(text);
        d.set("A", "y", "2").unwrap();
        d.set("B", "z", "3").unwrap();
        assert_eq!(d.to_text(), "A = {\nx=1;\ny=2;\n}\n\nB = {\nz=3;\n}\n");
    }

    #[test]
    fn single_line_and_empty_sections() {
        let mut d = doc("Misc = { A = 1; }\nE = {\n}\nF = {}\n");
        d.set("Misc", "B", "2").unwrap();
        d.set("E", "C", "3").unwrap();
        d.set("F", "D", "4").unwrap();
        assert_eq!(
            d.to_text(),
            "Misc = { A = 1; B = 2; }\nE = {\n   C = 3;\n}\nF = { D = 4; }\n"
        );
    }

    #[test]
    fn values_that_need_quotes_get_them() {
        let mut d = doc("A = {\n   x = 1;\n}\n");
        d.set("A", "x", "a;b").unwrap();
        assert_eq!(d.value("A", "x"), Some("a;b"));
        assert_eq!(d.get("A", "x").unwrap().raw_value(), "'a;b'");
        assert_eq!(d.set("A", "x", "it's;"), Err(WriteError::QuoteInQuoted));
        assert_eq!(
            d.set("A", "x", "a\tb").unwrap_err().to_string(),
            "it contains a TAB, which Chrystoki.conf cannot hold"
        );
        assert_eq!(
            d.set("A", "has space", "1").unwrap_err().to_string(),
            "'has space' is not usable as a key (a key is one word without '=', ';', '{', '}' or quotes)"
        );
        assert_eq!(d.value("A", "x"), Some("a;b"));
    }

    #[test]
    fn remove_takes_the_line() {
        let text = "A = {\n   x = 1;\n   // keep me\n   y = 2; // trailing\n   z = 3;\n}\n";
        let mut d = doc(text);
        assert!(d.remove("A", "z"));
        assert_eq!(
            d.to_text(),
            "A = {\n   x = 1;\n   // keep me\n   y = 2; // trailing\n}\n"
        );
        assert!(d.remove("A", "x"));
        assert_eq!(
            d.to_text(),
            "A = {\n   // keep me\n   y = 2; // trailing\n}\n"
        );
        assert!(!d.remove("A", "x"));
        assert!(d.remove("A", "y"));
        assert_eq!(d.to_text(), "A = {\n   // keep me\n   // trailing\n}\n");
        let mut one = doc("M = { A = 1; B = 2; }\n");
        assert!(one.remove("M", "B"));
        assert_eq!(one.to_text(), "M = { A = 1; }\n");
        assert!(one.remove("M", "A"));
        assert_eq!(one.to_text(), "M = { }\n");
    }

    #[test]
    fn crlf_files_keep_crlf() {
        let text = "A = {\r\n   x = 1;\r\n}\r\n";
        let mut d = doc(text);
        assert_eq!(d.to_text(), text);
        d.set("A", "y", "2").unwrap();
        assert_eq!(d.to_text(), "A = {\r\n   x = 1;\r\n   y = 2;\r\n}\r\n");
        assert!(d.remove("A", "x"));
        assert_eq!(d.to_text(), "A = {\r\n   y = 2;\r\n}\r\n");
    }

    #[test]
    fn ini_documents_edit_in_ini_style() {
        let text = "; crystoki.ini\r\n[Chrystoki2]\r\nLibNT=C:\\Program Files\\SafeNet\\LunaClient\\cryptoki.dll\r\n\r\n[HAConfiguration]\r\nreconnAtt=3\r\n";
        let mut d = Document::parse(text, "crystoki.ini").unwrap();
        assert_eq!(d.format(), Format::Ini);
        assert_eq!(d.to_text(), text);
        assert_eq!(
            d.value("Chrystoki2", "LibNT"),
            Some("C:\\Program Files\\SafeNet\\LunaClient\\cryptoki.dll")
        );
        d.set("HAConfiguration", "reconnAtt", "-1").unwrap();
        d.set("Chrystoki2", "Extra", "x").unwrap();
        d.set("Toggles", "lunacm_cv_ha_ui", "0").unwrap();
        assert_eq!(
            d.to_text(),
            "; crystoki.ini\r\n[Chrystoki2]\r\nLibNT=C:\\Program Files\\SafeNet\\LunaClient\\cryptoki.dll\r\nExtra=x\r\n\r\n[HAConfiguration]\r\nreconnAtt=-1\r\n\r\n[Toggles]\r\nlunacm_cv_ha_ui=0\r\n"
        );
    }

    #[test]
    fn ini_values_starting_with_a_quote_are_quoted_and_read_back() {
        let mut d = Document::parse("[A]\nx=1\n", "crystoki.ini").unwrap();
        for value in ["'abc", "'", "'a'", "it's", " it's ", "a;b'"] {
            d.set("A", "x", value).unwrap();
            let again = Document::parse(&d.to_text(), "crystoki.ini").unwrap();
            assert_eq!(again.value("A", "x"), Some(value), "{}", d.to_text());
        }
        d.set("A", "x", "'abc").unwrap();
        assert_eq!(d.to_text(), "[A]\nx=''abc'\n");
        // Chrystoki.conf cannot hold it: refused, nothing written.
        let mut c = doc("A = {\n   x = 1;\n}\n");
        assert_eq!(c.set("A", "x", "'abc"), Err(WriteError::QuoteInQuoted));
        assert_eq!(c.value("A", "x"), Some("1"));
    }

    #[test]
    fn format_is_chosen_by_name_then_by_content() {
        assert_eq!(Format::for_origin("crystoki.ini", "A = {}"), Format::Ini);
        assert_eq!(Format::for_origin("Chrystoki.conf", "[A]"), Format::Conf);
        assert_eq!(Format::for_origin("edit", "\n; c\n[A]\n"), Format::Ini);
        assert_eq!(Format::for_origin("edit", "// c\nA = {\n}\n"), Format::Conf);
        assert_eq!(Format::sniff(""), Format::Conf);
    }
}
