//! The timeline page (`hasim run FILE --timeline out.html`): well-formed, self-contained, one
//! row per member, one mark per HA log line, the member states derived from the record, and
//! the same bytes for the same record.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::suite;
use harness::timeline::model::{State, derive};
use harness::timeline::{html::esc, render};

fn scenario(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
}

/// A small XML check: every tag closes in order, attributes are quoted, no stray `<` or `&`
/// in text. Returns the first problem.
fn well_formed(page: &str) -> Result<(), String> {
    let body = page.strip_prefix("<!DOCTYPE html>\n").ok_or("no doctype")?;
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        check_text(text)?;
        let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if top != name {
                return Err(format!("</{name}> closes <{top}>"));
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            return Err(format!("bad tag <{tag}>"));
        }
        if tag.matches('"').count() % 2 != 0 {
            return Err(format!("unbalanced quotes in <{tag}>"));
        }
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest)?;
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

fn check_text(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        let end = entity.find(';').ok_or("& without ;")?;
        let name = &entity[1..end];
        let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "#39" | "#160" | "#183");
        if !ok {
            return Err(format!("unknown entity &{name};"));
        }
    }
    Ok(())
}

#[test]
fn the_xml_check_finds_what_it_looks_for() {
    assert!(well_formed("<!DOCTYPE html>\n<a><b /><c>x &amp; y</c></a>").is_ok());
    assert!(well_formed("<!DOCTYPE html>\n<a><b></a>").is_err());
    assert!(well_formed("<!DOCTYPE html>\n<a>x & y</a>").is_err());
    assert!(well_formed("<!DOCTYPE html>\n<a x=\"1></a>").is_err());
    assert!(well_formed("<!DOCTYPE html>\n<a>").is_err());
}

/// The drawing itself (the legend draws sample marks too).
fn drawing(page: &str) -> &str {
    let from = page.find("<svg class=\"timeline\"").expect("the drawing");
    let to = page[from..].find("</svg>").expect("its end") + from;
    &page[from..to]
}

#[test]
fn the_page_is_well_formed_self_contained_with_a_row_per_member_and_a_mark_per_log_line() {
    for rel in [
        "standby/standby-promoted-when-actives-lost.ron",
        "recovery/bounded-retries-exhaust.ron",
        "failover/threads-least-busy-and-inflight-drop.ron",
    ] {
        let outcome = suite::run_file(&scenario(rel)).expect("runs");
        let record = &outcome.record;
        let page = render(record);
        well_formed(&page).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(!page.contains("http"), "{rel}: a URL");
        assert!(!page.contains("<script"), "{rel}: a script");
        assert!(!page.contains("@import") && !page.contains("@font-face"));
        assert_eq!(
            page.matches("url(").count(),
            page.matches("url(#").count(),
            "only references inside the page"
        );
        let svg = drawing(&page);
        let rows: Vec<&str> = svg
            .match_indices("<g class=\"member\" data-serial=\"")
            .map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                &rest[..rest.find('"').unwrap_or(0)]
            })
            .collect();
        assert_eq!(rows, record.header.slots, "{rel}: one row per member");
        let lines: Vec<&str> = record.log_lines().collect();
        assert!(!lines.is_empty());
        assert_eq!(svg.matches("class=\"mark ").count(), lines.len(), "{rel}");
        for (i, line) in lines.iter().enumerate() {
            let title = format!("#{} at ", i + 1);
            let at = svg
                .find(&title)
                .unwrap_or_else(|| panic!("{rel}: no mark #{}", i + 1));
            let rest = &svg[at..];
            let text = &rest[..rest.find("</title>").unwrap_or(0)];
            assert!(
                text.ends_with(&esc(line)),
                "{rel}: mark #{} is {text}",
                i + 1
            );
        }
        assert_eq!(render(record), page, "{rel}: same record, same bytes");
        let again = suite::run_file(&scenario(rel)).expect("runs");
        assert_eq!(
            render(&again.record),
            page,
            "{rel}: same scenario, same bytes"
        );
    }
}

#[test]
fn member_states_follow_the_log_and_the_standby_rules() {
    let outcome =
        suite::run_file(&scenario("standby/standby-promoted-when-actives-lost.ron")).expect("runs");
    let t = derive(&outcome.record);
    let states = |i: usize| -> Vec<State> { t.members[i].states.iter().map(|s| s.what).collect() };
    // The first active member: alive, dropped at 10 s, recovered at 70 s.
    assert_eq!(states(0), [State::Alive, State::Down, State::Alive]);
    assert_eq!(t.members[0].states[1].from, 10_000);
    assert_eq!(t.members[0].states[2].from, 70_000);
    // The other active member never comes back in this run.
    assert_eq!(states(1), [State::Alive, State::Down]);
    // The standby member is promoted while both actives are down, then demoted (D12).
    assert_eq!(states(2), [State::Standby, State::Promoted, State::Standby]);
    // What the injector did is drawn apart from what the engine saw.
    assert_eq!(t.members[0].injected.len(), 1);
    assert_eq!(
        (t.members[0].injected[0].from, t.members[0].injected[0].to),
        (10_000, 20_000)
    );
    // Calls served are counted per member.
    let served: u64 = t.members[2].calls.iter().map(|c| c.count).sum();
    assert!(served >= 4, "the promoted standby served calls: {served}");
}

#[test]
fn members_added_at_run_time_are_pending_until_detected() {
    let outcome = suite::run_file(&scenario("failover/new-member-at-runtime.ron")).expect("runs");
    let t = derive(&outcome.record);
    let last = t.members.last().expect("three members");
    let states: Vec<State> = last.states.iter().map(|s| s.what).collect();
    assert_eq!(states, [State::NoGroup, State::Pending, State::Alive]);
    assert_eq!(last.states[2].from, 70_000);
}

#[test]
fn hasim_run_writes_the_timeline_of_one_file_and_refuses_a_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("t.html");
    let file = scenario("failover/two-members-drop-and-recover.ron");
    let status = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["run", &file.display().to_string(), "--timeline"])
        .arg(&out)
        .output()
        .expect("hasim runs");
    assert_eq!(status.status.code(), Some(0));
    let page = std::fs::read_to_string(&out).expect("written");
    assert!(page.starts_with("<!DOCTYPE html>"));
    let folder = scenario("failover");
    let status = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["run", &folder.display().to_string(), "--timeline"])
        .arg(&out)
        .output()
        .expect("hasim runs");
    assert_eq!(status.status.code(), Some(2));
}
