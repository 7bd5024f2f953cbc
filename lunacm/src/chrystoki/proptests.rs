//! Property tests of the configuration file model: arbitrary `Chrystoki.conf` and
//! `crystoki.ini` texts (sections with spaces in their names, keys, quoted / empty / list
//! values, comments, blank lines, CRLF) survive parse → write byte for byte and read as the
//! entries they were built from; any valid configuration written into any file reads back as
//! itself (or, when a label or path holds what the format cannot, is refused as unwritable),
//! and writing what was just read changes nothing; any document that parses, including ones
//! with the known sections and keys near the known ones (non-ASCII included), is read by
//! `read_config` without panicking.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::chrystoki::{ConfError, Document, Format, WriteError, read_config, write_config};
use ha_engine::config::{ClientConfig, GroupConfig, RecoveryMode, RetryLimit};
use ha_engine::log::HaLogSettings;

/// A generated entry: key, value as written, value meaning.
#[derive(Clone, Debug)]
struct GenEntry {
    key: String,
    raw: String,
    meaning: String,
}

#[derive(Clone, Debug)]
struct GenSection {
    name: String,
    entries: Vec<GenEntry>,
}

const KNOWN: [&str; 6] = [
    "VirtualToken",
    "HASynchronize",
    "HAConfiguration",
    "HARecovery",
    "Toggles",
    "LunaSA Client",
];

fn section_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z0-9]{0,7}( [A-Z][A-Za-z0-9]{0,7}){0,2}"
}

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,11}"
}

/// Values as a Chrystoki.conf writes them: plain (inner spaces), lists in both comma styles,
/// single-quoted (with `;`, `{`, `}`, `=`, `//` inside), and empty.
fn conf_value() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        "[A-Za-z0-9/._:-]{1,10}( [A-Za-z0-9/._:-]{1,10}){0,2}".prop_map(|v| (v.clone(), v)),
        (prop::collection::vec("[0-9]{1,13}", 1..4), any::<bool>()).prop_map(|(m, spaced)| {
            let v = m.join(if spaced { ", " } else { "," });
            (v.clone(), v)
        }),
        "[A-Za-z0-9 ;/._:{}=-]{0,12}".prop_map(|v| (format!("'{v}'"), v)),
        Just((String::new(), String::new())),
    ]
}

fn conf_entry() -> impl Strategy<Value = GenEntry> {
    (key(), conf_value()).prop_map(|(key, (raw, meaning))| GenEntry { key, raw, meaning })
}

fn comment() -> impl Strategy<Value = String> {
    "[ -~]{0,20}"
}

fn conf_sections() -> impl Strategy<Value = Vec<GenSection>> {
    prop::collection::vec(
        (section_name(), prop::collection::vec(conf_entry(), 0..5))
            .prop_map(|(name, entries)| GenSection { name, entries }),
        0..5,
    )
}

/// Layout choices for the conf text.
#[derive(Clone, Debug)]
struct ConfLayout {
    indent: usize,
    eq: &'static str,
    term: &'static str,
    open: &'static str,
    single_line: Vec<bool>,
    comments: Vec<Option<String>>,
    blank: Vec<bool>,
    crlf: bool,
    final_newline: bool,
}

fn conf_layout() -> impl Strategy<Value = ConfLayout> {
    (
        0usize..5,
        prop::sample::select(vec![" = ", "=", " =", "=  "]),
        prop::sample::select(vec![";", " ;"]),
        prop::sample::select(vec![" = {", "={", " =  {"]),
        prop::collection::vec(any::<bool>(), 8),
        prop::collection::vec(prop::option::of(comment()), 32),
        prop::collection::vec(any::<bool>(), 32),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(indent, eq, term, open, single_line, comments, blank, crlf, final_newline)| {
                ConfLayout {
                    indent,
                    eq,
                    term,
                    open,
                    single_line,
                    comments,
                    blank,
                    crlf,
                    final_newline,
                }
            },
        )
}

fn render_conf(sections: &[GenSection], l: &ConfLayout) -> String {
    let pad = " ".repeat(l.indent);
    let mut out = String::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n - 1
    };
    for (si, s) in sections.iter().enumerate() {
        let i = next();
        if let Some(Some(c)) = l.comments.get(i % 32) {
            out.push_str(&format!("//{c}\n"));
        }
        if l.blank[i % 32] {
            out.push('\n');
        }
        if l.single_line[si % 8] {
            out.push_str(&format!("{}{} ", s.name, l.open));
            for e in &s.entries {
                out.push_str(&format!("{}{}{}{} ", e.key, l.eq, e.raw, l.term));
            }
            out.push_str("}\n");
            continue;
        }
        out.push_str(&format!("{}{}\n", s.name, l.open));
        for e in &s.entries {
            let i = next();
            if l.blank[i % 32] {
                out.push('\n');
            }
            out.push_str(&format!("{pad}{}{}{}{}", e.key, l.eq, e.raw, l.term));
            match &l.comments[i % 32] {
                Some(c) if i % 3 == 0 => out.push_str(&format!(" //{c}\n")),
                Some(c) if i % 3 == 1 => out.push_str(&format!("\n{pad}//{c}\n")),
                _ => out.push('\n'),
            }
        }
        out.push_str("}\n");
    }
    if !l.final_newline && out.ends_with('\n') {
        out.pop();
    }
    if l.crlf {
        out = out.replace('\n', "\r\n");
    }
    out
}

fn entries_of(doc: &Document) -> Vec<(String, String, String)> {
    doc.sections()
        .flat_map(|s| {
            s.entries().map(|e| {
                (
                    s.name().to_string(),
                    e.key().to_string(),
                    e.value().to_string(),
                )
            })
        })
        .collect()
}

fn expected_entries(sections: &[GenSection]) -> Vec<(String, String, String)> {
    sections
        .iter()
        .flat_map(|s| {
            s.entries
                .iter()
                .map(|e| (s.name.clone(), e.key.clone(), e.meaning.clone()))
        })
        .collect()
}

/// INI values: plain text (spaces, `;` inside), quoted, empty.
fn ini_value() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        "[A-Za-z0-9\\\\:._-]{1,8}([ ;][A-Za-z0-9\\\\:._-]{1,8}){0,2}".prop_map(|v| (v.clone(), v)),
        (prop::collection::vec("[0-9]{1,13}", 1..4), any::<bool>()).prop_map(|(m, spaced)| {
            let v = m.join(if spaced { ", " } else { "," });
            (v.clone(), v)
        }),
        "[A-Za-z0-9 ;/._=-]{0,12}".prop_map(|v| (format!("'{v}'"), v)),
        Just((String::new(), String::new())),
    ]
}

fn ini_sections() -> impl Strategy<Value = Vec<GenSection>> {
    prop::collection::vec(
        (
            section_name(),
            prop::collection::vec(
                (
                    "[A-Za-z_][A-Za-z0-9_]{0,6}( [A-Za-z0-9_]{1,5})?",
                    ini_value(),
                )
                    .prop_map(|(key, (raw, meaning))| GenEntry {
                        key,
                        raw,
                        meaning,
                    }),
                0..5,
            ),
        )
            .prop_map(|(name, entries)| GenSection { name, entries }),
        0..5,
    )
}

fn render_ini(
    sections: &[GenSection],
    eq: &str,
    spaced_header: bool,
    comments: &[Option<String>],
    crlf: bool,
) -> String {
    let mut out = String::new();
    let mut i = 0;
    for s in sections {
        if let Some(Some(c)) = comments.get(i % comments.len().max(1)) {
            out.push_str(&format!(";{c}\n\n"));
        }
        i += 1;
        if spaced_header {
            out.push_str(&format!("[ {} ]  ; header\n", s.name));
        } else {
            out.push_str(&format!("[{}]\n", s.name));
        }
        for e in &s.entries {
            let lead = if i % 4 == 0 { "  " } else { "" };
            out.push_str(&format!("{lead}{}{eq}{}\n", e.key, e.raw));
            if let Some(Some(c)) = comments.get(i % comments.len().max(1))
                && i % 2 == 0
            {
                out.push_str(&format!("  ;{c}\n"));
            }
            i += 1;
        }
    }
    if crlf {
        out = out.replace('\n', "\r\n");
    }
    out
}

/// A valid configuration: unique labels, members in one group only, standby ⊆ members.
fn config() -> impl Strategy<Value = (ClientConfig, HaLogSettings)> {
    // Mostly plain labels; some start with a quote or hold `;` (a label is written as a value,
    // and as a key where it names a setting: keys cannot hold either).
    let label = prop_oneof![
        4 => "g[a-z0-9]{0,5}",
        1 => "['g][a-z0-9';]{0,4}[a-z0-9';]",
    ];
    let groups = prop::collection::btree_set(label, 0..4).prop_flat_map(|labels| {
        let n = labels.len();
        (
            Just(labels.into_iter().collect::<Vec<_>>()),
            prop::collection::vec((1usize..4, prop::collection::vec(any::<bool>(), 3)), n),
        )
    });
    (
        groups,
        prop_oneof![
            Just(RetryLimit::Disabled),
            Just(RetryLimit::Unlimited),
            (1u32..=500).prop_map(RetryLimit::Bounded)
        ],
        60u64..=1200,
        any::<bool>(),
        any::<(bool, bool, bool, bool)>(),
        1u64..100_000,
        prop::option::of(1u64..100_000),
        prop::collection::vec(prop::option::of(0u64..10), 4),
        (
            any::<bool>(),
            prop::option::of(prop_oneof![
                3 => "/[a-z]{1,8}(/[a-z]{1,8})?",
                // What needs quotes in one format or both: a leading quote or brace, `;`,
                // `}`, inner spaces, quotes inside (no space at either end: values are
                // trimmed when read).
                1 => "['{/][a-z/';{}. ]{0,6}[a-z/';{}]",
            ]),
            1u64..1_000_000_000,
        ),
    )
        .prop_map(
            |(
                (labels, shapes),
                retry,
                interval_s,
                enhanced,
                (ha_only, cloud, fod, sync_first),
                receive,
                probe,
                counters,
                (enabled, path, max_len),
            )| {
                let mut serial = 1_000_000_000_000u64;
                let mut groups = Vec::new();
                for (label, (count, standby)) in labels.iter().zip(shapes) {
                    let members: Vec<String> = (0..count)
                        .map(|_| {
                            serial += 7;
                            serial.to_string()
                        })
                        .collect();
                    let standby = members
                        .iter()
                        .zip(standby)
                        .filter(|(_, s)| *s)
                        .map(|(m, _)| m.clone())
                        .collect();
                    groups.push(GroupConfig {
                        label: label.clone(),
                        members,
                        standby,
                    });
                }
                let synchronize: BTreeMap<String, bool> = labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (l.clone(), (i % 2 == 0) == sync_first))
                    .collect();
                let legacy_recovery: BTreeMap<String, u64> = labels
                    .iter()
                    .zip(counters)
                    .filter_map(|(l, c)| c.map(|c| (l.clone(), c)))
                    .collect();
                let cfg = ClientConfig {
                    groups,
                    retry,
                    interval_s,
                    mode: if enhanced {
                        RecoveryMode::ActiveEnhanced
                    } else {
                        RecoveryMode::ActiveBasic
                    },
                    ha_only,
                    synchronize,
                    cloud_members_standby: cloud,
                    failover_on_deactivation: fod,
                    receive_timeout_ms: receive,
                    probe_timeout_ms: probe,
                    legacy_recovery,
                    // Read from the file only, never written (D36): not part of the round trip.
                    min_copies: BTreeMap::new(),
                };
                let log = HaLogSettings {
                    enabled,
                    path,
                    max_len,
                };
                (cfg, log)
            },
        )
}

/// Keys near the known ones: known prefixes and suffixes around words with non-ASCII letters
/// (a `VirtualTokeé` key must not be sliced through its `é`).
fn wild_key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "",
            "VirtualToken",
            "VirtualToke",
            "virtualtoken",
            "VirtualToken0",
            "VirtualToken01",
            "haGroup1",
            "HA",
        ]),
        "[A-Za-z0-9_éü€𐍈]{0,4}",
        prop::sample::select(vec![
            "",
            "Label",
            "SN",
            "Members",
            "StandbyMembers",
            "ActiveRecovery",
        ]),
    )
        .prop_map(|(prefix, middle, suffix)| format!("{prefix}{middle}{suffix}"))
        .prop_filter("a key is not empty", |k| !k.is_empty())
}

/// Values of every shape, non-ASCII included.
fn wild_value() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        conf_value(),
        "[0-9a-zé€]([0-9a-zé€, -]{0,8}[0-9a-zé€])?".prop_map(|v| (v.clone(), v)),
    ]
}

/// Documents made of the known sections (and others) with keys near the known ones.
fn wild_sections() -> impl Strategy<Value = Vec<GenSection>> {
    let name = prop_oneof![
        3 => prop::sample::select(KNOWN.to_vec()).prop_map(str::to_string),
        1 => section_name(),
    ];
    let entry =
        (wild_key(), wild_value()).prop_map(|(key, (raw, meaning))| GenEntry { key, raw, meaning });
    prop::collection::vec(
        (name, prop::collection::vec(entry, 0..6))
            .prop_map(|(name, entries)| GenSection { name, entries }),
        0..5,
    )
}

fn unknown_only(sections: Vec<GenSection>) -> Vec<GenSection> {
    sections
        .into_iter()
        .filter(|s| !KNOWN.iter().any(|k| k.eq_ignore_ascii_case(&s.name)))
        .collect()
}

/// Writes `cfg` into `doc`: true when written, false when refused for what the format cannot
/// hold (a key with a quote or `;`, i.e. a label that names a setting, or in Chrystoki.conf a
/// value that needs quotes and holds a quote; a crystoki.ini can hold any value). Any other
/// refusal fails the test.
fn written_or_refused(
    doc: &mut Document,
    cfg: &ClientConfig,
    log: &HaLogSettings,
) -> Result<bool, TestCaseError> {
    match write_config(doc, cfg, log) {
        Ok(()) => Ok(true),
        Err(ConfError::Unwritable { reason, .. }) => {
            let cannot = match &reason {
                WriteError::Key(key) => key.contains('\'') || key.contains(';'),
                WriteError::QuoteInQuoted => doc.format() == Format::Conf,
                WriteError::Character(..) => false,
            };
            prop_assert!(cannot, "refused without cause: {}", reason);
            Ok(false)
        }
        Err(e) => Err(TestCaseError::fail(e.to_string())),
    }
}

/// Writes `cfg` into the document parsed from `text`, then checks: the result reads back as
/// `cfg`, writing it again changes nothing, and every unknown entry is still there.
fn check_write_read(
    text: &str,
    origin: &str,
    noise: &[GenSection],
    cfg: &ClientConfig,
    log: &HaLogSettings,
) -> Result<(), TestCaseError> {
    let mut doc =
        Document::parse(text, origin).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    if !written_or_refused(&mut doc, cfg, log)? {
        return Ok(());
    }
    let written = doc.to_text();
    // Writing the same configuration again changes nothing (`commit_config` relies on it).
    let mut twice = doc.clone();
    write_config(&mut twice, cfg, log).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&twice.to_text(), &written);
    let again = Document::parse(&written, origin)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{written}")))?;
    prop_assert_eq!(&again.to_text(), &written);
    let (cfg2, log2) =
        read_config(&again).map_err(|e| TestCaseError::fail(format!("{e}\n{written}")))?;
    prop_assert_eq!(&cfg2, cfg);
    let expected_log = HaLogSettings {
        path: log.path.clone().filter(|p| !p.is_empty()),
        ..log.clone()
    };
    prop_assert_eq!(&log2, &expected_log);
    let mut idem = again.clone();
    write_config(&mut idem, &cfg2, &log2).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(idem.to_text(), written);
    let all = entries_of(&again);
    for e in expected_entries(noise) {
        prop_assert!(all.contains(&e), "lost {:?}", e);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn conf_text_round_trips_byte_for_byte(sections in conf_sections(), layout in conf_layout()) {
        let text = render_conf(&sections, &layout);
        let doc = Document::parse(&text, "Chrystoki.conf")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(doc.format(), Format::Conf);
        prop_assert_eq!(doc.to_text(), text);
        prop_assert_eq!(entries_of(&doc), expected_entries(&sections));
    }

    #[test]
    fn ini_text_round_trips_byte_for_byte(
        sections in ini_sections(),
        eq in prop::sample::select(vec!["=", " = ", "= "]),
        spaced in any::<bool>(),
        comments in prop::collection::vec(prop::option::of(comment()), 1..6),
        crlf in any::<bool>(),
    ) {
        let text = render_ini(&sections, eq, spaced, &comments, crlf);
        let doc = Document::parse(&text, "crystoki.ini")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(doc.format(), Format::Ini);
        prop_assert_eq!(doc.to_text(), text);
        prop_assert_eq!(entries_of(&doc), expected_entries(&sections));
    }

    #[test]
    fn any_text_parses_or_is_refused_without_panicking(
        text in "(\\PC|[\\n\\t ={};'\\[\\]/,])*",
        ini in any::<bool>(),
    ) {
        // Whatever the bytes, the parser answers; what it accepts it gives back unchanged.
        let origin = if ini { "crystoki.ini" } else { "Chrystoki.conf" };
        if let Ok(doc) = Document::parse(&text, origin) {
            prop_assert_eq!(doc.to_text(), text);
            let _ = read_config(&doc);
        }
    }

    #[test]
    fn parsed_documents_are_read_without_panicking(
        sections in wild_sections(),
        layout in conf_layout(),
        ini in any::<bool>(),
    ) {
        // Whatever a parsed document holds, read_config answers with a configuration or an
        // error; it never panics.
        let (text, origin) = if ini {
            (render_ini(&sections, "=", false, &[None], layout.crlf), "crystoki.ini")
        } else {
            (render_conf(&sections, &layout), "Chrystoki.conf")
        };
        let doc = Document::parse(&text, origin)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let _ = read_config(&doc);
    }

    #[test]
    fn any_configuration_written_into_any_conf_reads_back(
        sections in conf_sections(),
        layout in conf_layout(),
        (cfg, log) in config(),
    ) {
        let noise = unknown_only(sections);
        let text = render_conf(&noise, &layout);
        check_write_read(&text, "Chrystoki.conf", &noise, &cfg, &log)?;
    }

    #[test]
    fn any_configuration_written_into_any_ini_reads_back(
        sections in ini_sections(),
        crlf in any::<bool>(),
        (cfg, log) in config(),
    ) {
        let noise = unknown_only(sections);
        let text = render_ini(&noise, "=", false, &[None], crlf);
        check_write_read(&text, "crystoki.ini", &noise, &cfg, &log)?;
    }

    #[test]
    fn writing_what_was_read_changes_nothing(
        sections in conf_sections(),
        layout in conf_layout(),
        (cfg, log) in config(),
        (cfg2, log2) in config(),
    ) {
        // A file holding one configuration, then another written over it: reading the
        // result and writing it back is the identity.
        let noise = unknown_only(sections);
        let mut doc = Document::parse(&render_conf(&noise, &layout), "Chrystoki.conf")
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if !written_or_refused(&mut doc, &cfg, &log)? {
            doc = Document::parse(&render_conf(&noise, &layout), "Chrystoki.conf")
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        if !written_or_refused(&mut doc, &cfg2, &log2)? {
            return Ok(());
        }
        let text = doc.to_text();
        let (read, read_log) = read_config(&doc)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&read, &cfg2);
        write_config(&mut doc, &read, &read_log).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(doc.to_text(), text);
    }
}
