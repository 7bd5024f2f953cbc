//! Fuzzing the three parsers hostile input reaches: the scenario loader (RON), the
//! configuration file (Chrystoki.conf / crystoki.ini) and LunaCM command lines. Inputs are
//! real files and lines mutated byte by byte (replace, insert, delete; invalid UTF-8 included)
//! and lines made of LunaCM's own words, quotes, dashes, `=`, `:`, control characters and
//! non-ASCII text. Properties: nothing panics; every error names a place inside the input; a
//! configuration that parses writes back byte for byte; LunaCM always answers with its
//! `Command Result :` footer and never writes a control character raw.
//!
//! `cargo test` runs a small fixed number of cases from a fixed seed (repeatable). A long
//! campaign: `PROPTEST_CASES=1000000 cargo test --release -p harness --test fuzz` (each of the
//! three properties runs that many cases; see docs/limits.md for the last campaign's figures).

use std::cell::RefCell;

use harness::lunacm_prompt::Session;
use harness::scenario::{self, LoadError};
use lunacm::chrystoki::{Document, Format, read_config};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x13_f022),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const SCENARIOS: [&str; 3] = [
    include_str!("../../scenarios/failover/two-members-drop-and-recover.ron"),
    include_str!("../../scenarios/admin/conf-round-trip.ron"),
    include_str!("../../scenarios/failover/threads-least-busy-and-inflight-drop.ron"),
];

const CONF: &str = "// written by hand\nChrystoki2 = {\n   LibUNIX64 = /usr/lib/libCryptoki2_64.so;\n}\nLunaSA Client = {\n   ReceiveTimeout = 20000;\n   ServerName00 = 'hsm1.example.com';\n   Empty = ;\n}\nVirtualToken = {\n   VirtualToken00Label = haGroup1;\n   VirtualToken00SN = 11234840370164;\n   VirtualToken00Members = 1234840370164, 1234924189183;\n   VirtualTokenActiveRecovery = activeEnhanced;\n}\nHASynchronize = {\n   haGroup1 = 1;\n}\nHAConfiguration = {\n   HAOnly = 1;\n   haLogPath = /tmp/halog;\n   reconnAtt = 3;\n   AutoReconnectInterval = 120;\n   haGroup1StandbyMembers = 1234924189183;\n}\nHARecovery = {\n   haGroup1 = 2;\n}\n";

const INI: &str = "; crystoki.ini\n[Chrystoki2]\nLibNT=C:\\Program Files\\SafeNet\\cryptoki.dll\n\n[VirtualToken]\nVirtualToken00Label=g\nVirtualToken00SN=111\nVirtualToken00Members=11,22\n\n[HAConfiguration]\nreconnAtt=-1\n";

/// One byte edit: replace, insert or delete at a position (taken modulo the length).
fn edits() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    prop::collection::vec((0u8..3, any::<usize>(), any::<u8>()), 1..8)
}

fn mutate(text: &str, edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for &(op, at, byte) in edits {
        let len = bytes.len();
        match op {
            0 if len > 0 => bytes[at % len] = byte,
            1 => bytes.insert(at % (len + 1), byte),
            _ if len > 0 => {
                bytes.remove(at % len);
            }
            _ => {}
        }
    }
    bytes
}

/// The error's line and column lie inside the text (or just after its end).
fn place_inside(error: &LoadError, text: &str) -> bool {
    match error {
        LoadError::Syntax { line, .. } => *line >= 1 && *line <= text.lines().count() + 1,
        LoadError::Invalid { .. } | LoadError::Io { .. } => true,
    }
}

const WORDS: &[&str] = &[
    "hagroup",
    "creategroup",
    "deletegroup",
    "addmember",
    "removemember",
    "addstandby",
    "removestandby",
    "synchronize",
    "recover",
    "retry",
    "interval",
    "recoverymode",
    "haonly",
    "halog",
    "listgroups",
    "partition",
    "showinfo",
    "login",
    "logout",
    "clear",
    "slot",
    "list",
    "set",
    "multitoken",
    "-label",
    "-slot",
    "-serialnumber",
    "-se",
    "-sl",
    "-g",
    "-group",
    "-answer",
    "copy",
    "remove",
    "quit",
    "-count",
    "-interval",
    "-mode",
    "activeBasic",
    "-enable",
    "-disable",
    "-show",
    "-path",
    "-maxlength",
    "-p",
    "--password",
    "-PASS=",
    "-password:",
    "-force",
    "-key",
    "-slots",
    "-nodestroy",
    "aeskeygen",
    "11",
    "22",
    "0",
    "1",
    "2",
    "-1",
    "501",
    "60",
    "/ha-logs",
    "g",
    "HA",
    "\"",
    "\"a b\"",
    "=",
    ":",
    ";",
    "{",
    "}",
    "//",
    "\u{1b}[2J",
    "\0",
    "\t",
    "é",
    "日本",
    "\u{85}",
    "",
];

fn command_line() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(WORDS).prop_map(str::to_string),
            1 => "\\PC{0,12}",
        ],
        0..10,
    )
    .prop_map(|tokens| tokens.join(" "))
}

const TOPOLOGY: &str = r#"Scenario(
    version: 1,
    name: "fuzz",
    partitions: [(serial: 11, label: "a"), (serial: 22, label: "b"), (serial: 33, label: "c")],
    setup: ["hagroup halog -path /ha-logs"],
    expect: [Output("x")],
)"#;

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

fn with_session<T>(f: impl FnOnce(&mut Session) -> T) -> T {
    SESSION.with(|cell| {
        let mut slot = cell.borrow_mut();
        let session = slot.get_or_insert_with(|| {
            let s = scenario::parse_str(TOPOLOGY, "fuzz.ron").expect("topology");
            Session::new(&s, "fuzz.ron").expect("world")
        });
        f(session)
    })
}

proptest! {
    #![proptest_config(config())]

    /// Mutated scenario files: a scenario or an error with its place, never a panic.
    #[test]
    fn scenario_loader_never_panics(which in 0usize..SCENARIOS.len(), edits in edits()) {
        let bytes = mutate(SCENARIOS[which], &edits);
        match scenario::load::utf8(&bytes, "m.ron") {
            Ok(text) => {
                if let Err(e) = scenario::parse_str(text, "m.ron") {
                    prop_assert!(place_inside(&e, text), "{e}");
                    prop_assert!(e.to_string().starts_with("m.ron"));
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("invalid UTF-8 (byte offset")),
        }
    }

    /// Mutated configuration files: what parses is read without a panic and writes back byte
    /// for byte; what does not is refused with `origin:line:col`.
    #[test]
    fn configuration_parser_never_panics(ini in any::<bool>(), edits in edits()) {
        let (base, origin) = if ini { (INI, "crystoki.ini") } else { (CONF, "Chrystoki.conf") };
        let bytes = mutate(base, &edits);
        let text = String::from_utf8_lossy(&bytes);
        let format = Format::sniff(&text);
        match Document::parse_as(&text, origin, format) {
            Ok(doc) => {
                prop_assert_eq!(doc.to_text(), text.to_string());
                if let Err(e) = read_config(&doc) {
                    prop_assert!(e.to_string().starts_with(origin), "{e}");
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with(&format!("{origin}:")), "{e}"),
        }
    }

    /// Arbitrary LunaCM command lines: always LunaCM's footer, never a raw control character.
    #[test]
    fn lunacm_command_lines_never_panic(line in command_line()) {
        let out = with_session(|s| s.command(&line));
        prop_assert!(out.ends_with("Command Result : No Error\n")
            || out.ends_with("Command Result : Invalid Argument\n")
            || out.ends_with("Command Result : Operation Failed\n"), "{out}");
        prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        let shown = lunacm::hagroup::args::redact(&line);
        prop_assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }
}
