//! The SoftHSM2 test set-up, written once for every test binary that runs on real tokens
//! (`pkcs11-member/tests/softhsm.rs`, `harness/tests/softhsm.rs`,
//! `harness/tests/softhsm_faults.rs`, `harness/tests/validate.rs`). Test support only: a
//! dev-dependency, never a dependency of a shipped crate.
//!
//! - [`trial`]: a libtest-mimic trial that first asks [`availability`] (the SoftHSM2 module,
//!   and OpenSC's `pkcs11-tool` when the check needs an outside witness): when something is
//!   missing it reports itself ignored with the reason, unless `HASIM_REQUIRE_SOFTHSM=1`
//!   ([`required`]), which makes that a failure; then it runs the body in a fresh temporary
//!   directory.
//! - [`command`], [`self_command`]: a SoftHSM2 module reads `SOFTHSM2_CONF` from the
//!   environment, which a multi-threaded test binary must never change, so every check runs
//!   its tokens in a child process whose `SOFTHSM2_CONF` names [`conf_path`] in the check's
//!   own directory ([`write_conf`] writes one with a token directory, for children that make
//!   tokens themselves).
//! - [`text`], [`list_objects`], [`object_kind`], [`files_under`], [`secret_absent`]: reading
//!   what a child left: its output, the objects `pkcs11-tool` lists on a token, every file a
//!   run left (to look for a canary credential).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Completion, Failed, Trial};

/// The environment variable that turns a missing SoftHSM2 (or `pkcs11-tool`) into a failure.
pub const REQUIRE_VAR: &str = "HASIM_REQUIRE_SOFTHSM";

/// Whether a missing SoftHSM2 must fail the tests (`HASIM_REQUIRE_SOFTHSM=1`, as in CI).
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// `Ok(None)` when everything needed is there, `Ok(Some(reason))` to ignore the check, `Err`
/// when something is missing but required. `need_tool`: the check also needs `pkcs11-tool`.
pub fn availability(need_tool: bool) -> Result<Option<String>, Failed> {
    let mut missing = Vec::new();
    if let Err(e) = pkcs11_member::softhsm::find_module() {
        missing.push(e.to_string());
    }
    if need_tool && Command::new("pkcs11-tool").arg("--help").output().is_err() {
        missing.push("pkcs11-tool (OpenSC) not found".to_string());
    }
    if missing.is_empty() {
        return Ok(None);
    }
    let reason = missing.join("; ");
    if required() {
        Err(format!("{REQUIRE_VAR}=1 but {reason}").into())
    } else {
        Ok(Some(format!(
            "{reason} ({REQUIRE_VAR}=1 makes this a failure)"
        )))
    }
}

/// A trial named `name` that runs `body` in a fresh temporary directory when SoftHSM2 (and,
/// with `need_tool`, `pkcs11-tool`) is there, and otherwise is ignored or fails as
/// [`availability`] says.
pub fn trial<F>(name: impl Into<String>, need_tool: bool, body: F) -> Trial
where
    F: FnOnce(&Path) -> Result<(), Failed> + Send + 'static,
{
    Trial::ignorable_test(name, move || {
        if let Some(reason) = availability(need_tool)? {
            return Ok(Completion::ignored_with(reason));
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        body(dir.path())?;
        Ok(Completion::Completed)
    })
}

/// The `SOFTHSM2_CONF` of the check whose directory is `dir`.
pub fn conf_path(dir: &Path) -> PathBuf {
    dir.join("softhsm2.conf")
}

/// Writes [`conf_path`] with a token directory `dir/tokens` (file object store, errors only
/// logged, fixed slots) for a child that makes its tokens itself; returns the file.
pub fn write_conf(dir: &Path) -> Result<PathBuf, Failed> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(|e| e.to_string())?;
    let conf = conf_path(dir);
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok(conf)
}

/// `program` as a child with `SOFTHSM2_CONF` naming [`conf_path`] in `dir`.
pub fn command(program: impl AsRef<OsStr>, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("SOFTHSM2_CONF", conf_path(dir));
    cmd
}

/// This test binary again as a child ([`command`]), with `var=value` telling it which check
/// (or which step) to run on the child side.
pub fn self_command(dir: &Path, var: &str, value: &str) -> Result<Command, Failed> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = command(exe, dir);
    cmd.env(var, value);
    Ok(cmd)
}

/// A child's standard output followed by its standard error.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `Err` naming `place` when `secret` appears in `haystack`.
pub fn secret_absent(secret: &str, haystack: &[u8], place: &str) -> Result<(), Failed> {
    if haystack
        .windows(secret.len())
        .any(|w| w == secret.as_bytes())
    {
        Err(format!("the credential appears in {place}").into())
    } else {
        Ok(())
    }
}

/// The objects OpenSC's `pkcs11-tool --list-objects` lists on the token `label` (module
/// `module`, `SOFTHSM2_CONF` `conf`, logged in with `pin`): `(kind line, CKA_ID or
/// application)`, in its order.
pub fn list_objects(
    module: &str,
    conf: &str,
    label: &str,
    pin: &str,
) -> Result<Vec<(String, String)>, Failed> {
    let out = Command::new("pkcs11-tool")
        .args([
            "--module",
            module,
            "--token-label",
            label,
            "--list-objects",
            "--login",
            "--pin",
            pin,
        ])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .map_err(|e| format!("pkcs11-tool: {e}"))?;
    if !out.status.success() {
        return Err(format!("pkcs11-tool failed: {}", text(&out)).into());
    }
    let mut objects: Vec<(String, String)> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if !line.starts_with(' ') && line.to_lowercase().contains("object") {
            objects.push((line.trim().to_string(), String::new()));
        } else if let Some(last) = objects.last_mut() {
            let t = line.trim();
            if let Some(v) = t.strip_prefix("ID:") {
                last.1 = v.trim().to_string();
            } else if let Some(v) = t.strip_prefix("application:") {
                last.1 = v.trim().trim_matches('\'').to_string();
            }
        }
    }
    Ok(objects)
}

/// A [`list_objects`] kind line without `pkcs11-tool`'s per-token details (`Data object 9;
/// ...` becomes `Data object`: the number is a handle), so two tokens' lists compare.
pub fn object_kind(line: &str) -> String {
    line.split(';')
        .next()
        .unwrap_or("")
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
        .to_string()
}

/// The `CKA_ID` prefix (hex, as `pkcs11-tool` prints it) of the objects hasim's own set-up
/// leaves on a token, which a witness leaves out.
pub fn setup_id_prefix() -> String {
    b"hasim-setup:".iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under `dir`, recursively (nothing when `dir` cannot be read).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_kind_drops_the_handle_and_details() {
        assert_eq!(object_kind("Data object 9; label: x"), "Data object");
        assert_eq!(
            object_kind("Secret Key Object; AES length 32"),
            "Secret Key Object"
        );
    }

    #[test]
    fn secret_absent_finds_the_secret() {
        assert!(secret_absent("pin-1", b"a pin-1 b", "x").is_err());
        assert!(secret_absent("pin-1", b"a pin-2 b", "x").is_ok());
    }

    #[test]
    fn files_under_walks_subdirectories() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("a/b"))?;
        std::fs::write(dir.path().join("a/b/f"), "x")?;
        std::fs::write(dir.path().join("g"), "y")?;
        let mut files = files_under(dir.path());
        files.sort();
        assert_eq!(files, vec![dir.path().join("a/b/f"), dir.path().join("g")]);
        Ok(())
    }
}
