//! Integration tests of `harness::scenario::load_file`: reading from disk and naming the file in errors.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;

use harness::scenario::{LoadError, Serial, load_file};

const SCENARIO: &str = r#"Scenario(
    version: 1,
    name: "one member",
    partitions: [(serial: 1234840370164, label: "par0")],
    steps: [App(Initialize), Fault(Drop("1234840370164"))],
    expect: [Log("line"), ObjectCounts({1234840370164: 0})],
)
"#;

#[test]
fn loads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.ron");
    fs::write(&path, SCENARIO).unwrap();
    let scenario = load_file(&path).unwrap();
    assert_eq!(
        scenario.partitions[0].serial,
        Serial::from(1_234_840_370_164u64)
    );
}

#[test]
fn errors_name_the_file_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ron");
    fs::write(&path, SCENARIO.replace("version: 1,", "version: 1")).unwrap();
    let error = load_file(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{}:3:5: Expected comma", path.display())
    );
    assert!(matches!(
        error,
        LoadError::Syntax {
            line: 3,
            col: 5,
            ..
        }
    ));
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.ron");
    let error = load_file(&path).unwrap_err();
    let LoadError::Io { file, .. } = &error else {
        panic!("expected an Io error, got {error:?}");
    };
    assert_eq!(file, &path.display().to_string());
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: ", path.display()))
    );
}
