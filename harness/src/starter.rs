//! `hasim new`: a commented starter scenario that runs and passes as written (like `cargo new`):
//! N members (the last M standby), a key, a drop while a second key is made, the member's
//! recovery with the key reintroduced, and the exact HA log lines that proves it.

use std::fmt::Write as _;

/// Why a starter cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    /// Members out of range.
    #[error("--members {0}: a group needs 2 to 32 members (B6)")]
    Members(u32),
    /// Standby out of range.
    #[error(
        "--standby {standby}: at most {max} of {members} members can be standby (one must stay active)"
    )]
    Standby {
        /// Asked for.
        standby: u32,
        /// Members.
        members: u32,
        /// The most allowed.
        max: u32,
    },
    /// The file already exists.
    #[error("{0}: already exists (hasim new never overwrites a file)")]
    Exists(String),
    /// The file cannot be written.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

const FIRST_SERIAL: u64 = 1_234_840_370_164;

/// The starter text for `members` members, the last `standby` of them standby.
pub fn starter(members: u32, standby: u32) -> Result<String, StarterError> {
    if !(2..=32).contains(&members) {
        return Err(StarterError::Members(members));
    }
    if standby >= members {
        return Err(StarterError::Standby {
            standby,
            members,
            max: members - 1,
        });
    }
    let serials: Vec<u64> = (0..u64::from(members)).map(|i| FIRST_SERIAL + i).collect();
    let primary = serials[0];
    let dropped = serials[serials.len() - 1];
    let group = format!("1{primary}");
    let prefix = |time: &str| format!("Wed Oct  4 {time} 2017 : [17469] HA group: {group}");
    let mut t = String::new();
    let _ = writeln!(
        t,
        "// A starter scenario written by `hasim new`: {members} members{}. One member drops while
// the application makes a second key; auto-recovery brings it back one interval later and
// reintroduces the key. Run it with `hasim run <this file>`; edit the steps and expectations
// to tell your own incident (the README's tutorial walks through it).",
        if standby > 0 {
            format!(", the last {standby} standby")
        } else {
            String::new()
        }
    );
    let _ = writeln!(t, "Scenario(");
    let _ = writeln!(t, "    version: 1,");
    let _ = writeln!(
        t,
        "    name: \"starter: a member drops and is recovered with the key made meanwhile\","
    );
    let _ = writeln!(
        t,
        "    rules: [\"B18\", \"B29\", \"B43\", \"D9\", \"D19\"],   // the spec rules it shows"
    );
    let _ = writeln!(t, "    partitions: [   // in the client's slot order");
    for (i, s) in serials.iter().enumerate() {
        let _ = writeln!(
            t,
            "        (serial: {s}, label: \"par{i}\", domain: \"dom1\"),"
        );
    }
    let _ = writeln!(t, "    ],");
    let _ = writeln!(t, "    setup: [        // LunaCM command lines, as typed");
    let _ = writeln!(
        t,
        "        \"hagroup creategroup -label haGroup1 -serialnumber {primary}\","
    );
    for s in &serials[1..] {
        let _ = writeln!(
            t,
            "        \"hagroup addmember -group haGroup1 -serialnumber {s}\","
        );
    }
    for s in &serials[(members - standby) as usize..] {
        let _ = writeln!(
            t,
            "        \"hagroup addstandby -group haGroup1 -serialnumber {s}\","
        );
    }
    let _ = writeln!(
        t,
        "        \"hagroup retry -count 3\",         // auto-recovery on: 3 attempts"
    );
    let _ = writeln!(
        t,
        "        \"hagroup halog -path /ha-logs\",   // the HA log goes here"
    );
    let _ = writeln!(t, "    ],");
    let _ = writeln!(t, "    steps: [");
    let _ = writeln!(t, "        App(OpenSession), App(Login),");
    let _ = writeln!(t, "        App(GenerateKey(label: \"k1\", kind: Aes256)),");
    let _ = writeln!(t, "        App(Sign(key: \"k1\", times: 4)),");
    let _ = writeln!(
        t,
        "        At(10, Drop({dropped})),   // t = 10 s: the member's connection is lost"
    );
    let _ = writeln!(
        t,
        "        App(GenerateKey(label: \"k2\", kind: Aes256)),   // replication finds it gone (D19)"
    );
    let _ = writeln!(t, "        App(Sign(key: \"k2\", times: 2)),");
    let _ = writeln!(t, "        Checkpoint(\"during the outage\"),");
    let _ = writeln!(t, "        At(30, Restore({dropped})),");
    let _ = writeln!(
        t,
        "        Advance(60),   // attempt 1 is due one interval (60 s) after the drop"
    );
    let _ = writeln!(t, "        Checkpoint(\"after recovery\"),");
    let _ = writeln!(t, "    ],");
    let _ = writeln!(t, "    expect: [");
    let _ = writeln!(
        t,
        "        Log(\"{} has dropped member: {dropped}\"),",
        prefix("16:29:31")
    );
    let _ = writeln!(
        t,
        "        Log(\"{} recovery attempt 1 reintroducing 1 token objects to recovered token {dropped}\"),",
        prefix("16:30:31")
    );
    let _ = writeln!(
        t,
        "        Log(\"{} recovery attempt 1 succeeded for member: {dropped}\"),",
        prefix("16:30:31")
    );
    let during: Vec<String> = serials
        .iter()
        .map(|s| format!("{s}: {}", if *s == dropped { 1 } else { 2 }))
        .collect();
    let after: Vec<String> = serials.iter().map(|s| format!("{s}: 2")).collect();
    let _ = writeln!(
        t,
        "        ObjectCountsAt(\"during the outage\", {{{}}}),",
        during.join(", ")
    );
    let _ = writeln!(
        t,
        "        ObjectCountsAt(\"after recovery\", {{{}}}),",
        after.join(", ")
    );
    let _ = writeln!(t, "        NoAppErrors,");
    let _ = writeln!(t, "    ],");
    let _ = writeln!(t, ")");
    Ok(t)
}

/// Writes the starter to `path`, never over an existing file.
pub fn write(path: &std::path::Path, members: u32, standby: u32) -> Result<(), StarterError> {
    let text = starter(members, standby)?;
    let name = path.display().to_string();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                StarterError::Exists(name.clone())
            } else {
                StarterError::Io {
                    path: name.clone(),
                    message: e.to_string(),
                }
            }
        })?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| StarterError::Io {
        path: name,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_runs_and_passes_as_written() {
        for (members, standby) in [(2, 0), (3, 0), (3, 1), (5, 2), (4, 3)] {
            let text = starter(members, standby).expect("valid sizes");
            let scenario = crate::scenario::parse_str(&text, "new.ron").expect("loads");
            let outcome = crate::suite::run_scenario(scenario, "new.ron").expect("runs");
            assert!(
                outcome.passed(),
                "members {members} standby {standby}: {:?}\n{}",
                outcome.failures,
                outcome.transcript()
            );
        }
    }

    #[test]
    fn sizes_out_of_range_are_refused_with_the_rule() {
        assert!(starter(1, 0).unwrap_err().to_string().contains("B6"));
        assert!(
            starter(3, 3)
                .unwrap_err()
                .to_string()
                .contains("at most 2 of 3")
        );
    }
}
