//! Global HA settings: `hagroup retry`, `interval`, `recoverymode` (B39), `haonly` (B57) and
//! `halog` (B62–B65). They apply to every group and take effect at once (the running engine
//! takes the new configuration when the command stands, [`super::commands::execute`]).

use ha_engine::config::{INTERVAL_RANGE_S, RecoveryMode, RetryLimit};

use crate::console::LunaCm;
use crate::error::CommandError;
use crate::hagroup::args;
use crate::hagroup::commands::Outcome;

/// `hagroup retry -count N`: 0 off, -1 unlimited, 1..500 (B39).
pub(crate) fn retry(cm: &mut LunaCm, command: &str, p: &args::Parsed) -> Outcome {
    let raw = args::required(command, p, "count")?;
    let n = args::integer(command, "count", raw)?;
    let limit = RetryLimit::from_count(n).ok_or_else(|| {
        CommandError::OutOfRange(format!(
            "{command}: -count {n} is out of range: allowed 0 (disable), -1 (unlimited) or 1..{} (B39)",
            RetryLimit::MAX
        ))
    })?;
    cm.config.retry = limit;
    Ok(vec![format!("HA Auto Recovery Count has been set to {n}")])
}

/// `hagroup interval -interval S`: 60..1200 seconds (B39).
pub(crate) fn interval(cm: &mut LunaCm, command: &str, p: &args::Parsed) -> Outcome {
    let raw = args::required(command, p, "interval")?;
    let n = args::integer(command, "interval", raw)?;
    let s = u64::try_from(n)
        .ok()
        .filter(|s| INTERVAL_RANGE_S.contains(s))
        .ok_or_else(|| {
            CommandError::OutOfRange(format!(
                "{command}: -interval {n} is out of range: allowed {}..{} seconds (B39)",
                INTERVAL_RANGE_S.start(),
                INTERVAL_RANGE_S.end()
            ))
        })?;
    cm.config.interval_s = s;
    Ok(vec![format!(
        "HA Auto Recovery Interval has been set to {s} seconds"
    )])
}

/// `hagroup recoverymode -mode activeBasic|activeEnhanced` (B39, B42).
pub(crate) fn recovery_mode(cm: &mut LunaCm, command: &str, p: &args::Parsed) -> Outcome {
    let raw = args::required(command, p, "mode")?;
    let mode = if raw.eq_ignore_ascii_case("activeBasic") {
        RecoveryMode::ActiveBasic
    } else if raw.eq_ignore_ascii_case("activeEnhanced") {
        RecoveryMode::ActiveEnhanced
    } else {
        return Err(CommandError::Syntax(format!(
            "{command}: -mode '{raw}' is not a recovery mode (expected activeBasic or activeEnhanced)"
        ))
        .into());
    };
    cm.config.mode = mode;
    Ok(vec![format!(
        "HA Recovery mode has been set to {}",
        mode.as_str()
    )])
}

/// Exactly one of the flags or options named, or a syntax error listing them.
fn one_action(command: &str, p: &args::Parsed, names: &str) -> Result<&'static str, CommandError> {
    match p.given().as_slice() {
        [one] => Ok(one),
        _ => Err(CommandError::Syntax(format!(
            "{command}: give exactly one of {names}"
        ))),
    }
}

/// `hagroup haonly -enable|-disable|-show` (`HAOnly`, B57, D14).
pub(crate) fn ha_only(cm: &mut LunaCm, command: &str, p: &args::Parsed) -> Outcome {
    match one_action(command, p, "-enable, -disable, -show")? {
        "enable" => {
            cm.config.ha_only = true;
            Ok(vec!["HA Only mode has been enabled".to_string()])
        }
        "disable" => {
            cm.config.ha_only = false;
            Ok(vec!["HA Only mode has been disabled".to_string()])
        }
        _ => Ok(vec![format!(
            "Only Show HA Slots: {}",
            if cm.config.ha_only { "yes" } else { "no" }
        )]),
    }
}

/// `hagroup halog -path D | -maxlength N | -enable | -disable | -show` (B62–B65).
pub(crate) fn halog(cm: &mut LunaCm, command: &str, p: &args::Parsed) -> Outcome {
    match one_action(command, p, "-path, -maxlength, -enable, -disable, -show")? {
        "path" => {
            let path = p.get("path").unwrap_or_default().to_string();
            if !cm.dir_exists(&path) {
                return Err(CommandError::Refused(format!(
                    "{command}: -path {path} is not an existing directory (B62)"
                ))
                .into());
            }
            cm.log.path = Some(path.clone());
            Ok(vec![format!("HA Log path has been set to {path}")])
        }
        "maxlength" => {
            let raw = p.get("maxlength").unwrap_or_default();
            let n = args::integer(command, "maxlength", raw)?;
            let n = u64::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                CommandError::OutOfRange(format!(
                    "{command}: -maxlength {n} is out of range: a positive number of bytes (B64)"
                ))
            })?;
            cm.log.max_len = n;
            Ok(vec![format!(
                "HA Log maximum length has been set to {n} bytes"
            )])
        }
        "enable" => {
            cm.log.enabled = true;
            Ok(vec!["HA Logging has been enabled".to_string()])
        }
        "disable" => {
            cm.log.enabled = false;
            Ok(vec!["HA Logging has been disabled".to_string()])
        }
        _ => {
            let s = &cm.log;
            Ok(vec![
                format!(
                    "HA Log Status: {}",
                    if s.enabled { "enabled" } else { "disabled" }
                ),
                format!("HA Log Path: {}", s.path.as_deref().unwrap_or("<not set>")),
                format!("Max HA Log Length: {} bytes", s.max_len),
            ])
        }
    }
}
