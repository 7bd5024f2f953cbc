//! The README and the reference pages under `docs/` are tested against: every example they
//! include (`<!-- example: docs/examples/X.ron -->` before a fenced block) is shown byte for byte
//! as the file holds it and runs and passes (`hasim run`, exit 0); every line of a block marked
//! `<!-- transcript-lines: docs/examples/X.ron -->` is a line of that file's `hasim run` output;
//! every file under `docs/examples/` is included somewhere; every `docs/*.md` link resolves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// README.md and every page under docs/, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let mut out = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out.into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("page");
            (p, text)
        })
        .collect()
}

/// `(kind, path, block)` for every marker followed by a fenced block.
fn marked_blocks(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("<!-- ") else {
            continue;
        };
        let Some((kind, path)) = rest.trim_end_matches(" -->").split_once(": ") else {
            continue;
        };
        assert!(
            lines.get(i + 1).is_some_and(|l| l.starts_with("```")),
            "marker {line:?} is not followed by a fenced block"
        );
        let mut block = String::new();
        for l in &lines[i + 2..] {
            if *l == "```" {
                break;
            }
            block.push_str(l);
            block.push('\n');
        }
        out.push((kind.to_string(), path.to_string(), block));
    }
    out
}

fn hasim_run(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .arg("run")
        .arg(path)
        .current_dir(root())
        .output()
        .expect("hasim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_included_example_is_shown_as_it_is_and_passes() {
    let mut included = BTreeSet::new();
    for (page, text) in pages() {
        for (kind, path, block) in marked_blocks(&text) {
            let file = root().join(&path);
            let content = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {path}: {e}", page.display()));
            match kind.as_str() {
                "example" => {
                    assert_eq!(
                        block,
                        content,
                        "{} shows {path} differently from the file",
                        page.display()
                    );
                    let (code, stdout) = hasim_run(&file);
                    assert_eq!(code, 0, "{path} does not pass:\n{stdout}");
                    included.insert(path);
                }
                "transcript-lines" => {
                    let (_, stdout) = hasim_run(&file);
                    let lines: BTreeSet<&str> = stdout.lines().collect();
                    for want in block.lines() {
                        assert!(
                            lines.contains(want),
                            "{}: {path}'s run has no line\n{want}\n\n{stdout}",
                            page.display()
                        );
                    }
                }
                other => panic!("{}: unknown marker {other:?}", page.display()),
            }
        }
    }
    let mut files: Vec<String> = std::fs::read_dir(root().join("docs/examples"))
        .expect("docs/examples")
        .map(|e| {
            format!(
                "docs/examples/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .collect();
    files.sort();
    for file in files {
        assert!(included.contains(&file), "{file} is included by no page");
    }
}

#[test]
fn every_docs_link_resolves() {
    for (page, text) in pages() {
        let base = page.parent().expect("folder").to_path_buf();
        for piece in text.split("](").skip(1) {
            let target = piece.split(')').next().unwrap_or_default();
            if target.starts_with("http") || target.starts_with('#') || target.is_empty() {
                continue;
            }
            let target = target.split('#').next().unwrap_or_default();
            assert!(
                base.join(target).exists(),
                "{} links to {target}, which does not exist",
                page.display()
            );
        }
    }
}
