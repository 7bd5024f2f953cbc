//! Embeds the portable scenarios (`portable: true`) in the binary for `hasim validate`'s
//! default set: writes `$OUT_DIR/portable_scenarios.rs`, one `(name, include_str!(path))` per
//! file, sorted by name.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "ron") {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("../scenarios");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    let mut portable: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "portable: true,"))
        })
        .map(|p| {
            let name = p
                .strip_prefix(&root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            let abs = p.canonicalize().unwrap_or(p);
            (name, abs)
        })
        .collect();
    portable.sort();
    let mut text = String::from(
        "/// The portable scenarios, by name under `scenarios/`.\npub const PORTABLE: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &portable {
        text.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    text.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("portable_scenarios.rs"), text).expect("OUT_DIR is writable");
}
