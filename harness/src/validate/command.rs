//! `hasim validate` on the command line: its arguments, the Luna environment, the exit status
//! (0: nothing failed; 1: a check or a scenario failed; 2: validate could not run).
//!
//! A Luna client library reads its configuration from the directory
//! `ChrystokiConfigurationPath` names, when it is loaded. validate points it at a cleaned
//! copy of the operator's file (D27) by running itself again as a child whose environment
//! names that copy (hasim never changes its own environment). A SoftHSM library (its file
//! name says `softhsm`) is loaded as it is, reading the operator's own `SOFTHSM2_CONF`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use pkcs11_member::CredentialSource;

use super::{Options, conf, default_state_dir, run};

/// Set in the child validate runs itself as, once the Luna configuration copy is in place.
const CHILD_MARK: &str = "HASIM_VALIDATE_LUNA_CONF";

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For machines.
    Json,
}

/// `hasim validate` arguments.
#[derive(Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("credential").required(true).args(["pin_file", "pin_env"])))]
pub struct ValidateArgs {
    /// The client's Chrystoki.conf (or crystoki.ini).
    #[arg(long, value_name = "FILE")]
    pub conf: PathBuf,
    /// The PKCS#11 library (Luna's libCryptoki2_64.so, or SoftHSM's libsofthsm2.so).
    #[arg(long, value_name = "LIBRARY.so")]
    pub module: PathBuf,
    /// Read the members' Crypto Officer credential from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// Read the members' Crypto Officer credential from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub pin_env: Option<String>,
    /// Run the scenarios under this folder instead of the portable set built into hasim.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Validate only this group (by label); default: every group in the file.
    #[arg(long, value_name = "LABEL")]
    pub group: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// validate's own state directory: the journal of created objects and the HA logs of
    /// its runs [default: $XDG_STATE_HOME/hasim/validate or ~/.local/state/hasim/validate].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// True when `module` is SoftHSM (by its file name).
pub fn is_softhsm(module: &Path) -> bool {
    module
        .file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().contains("softhsm"))
}

/// Runs `hasim validate`.
pub fn main(args: &ValidateArgs) -> ExitCode {
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    if !is_softhsm(&args.module) && std::env::var_os(CHILD_MARK).is_none() {
        return rerun_with_luna_conf(args, &state_dir);
    }
    let credential = match (&args.pin_file, &args.pin_env) {
        (Some(f), _) => CredentialSource::File(f.clone()),
        (None, Some(v)) => CredentialSource::Env(v.clone()),
        (None, None) => {
            eprintln!("hasim validate: give --pin-file FILE or --pin-env VAR");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        conf: args.conf.clone(),
        module: args.module.clone(),
        credential,
        scenarios: args.scenarios.clone(),
        group: args.group.clone(),
        state_dir,
    };
    match run(&options) {
        Ok(report) => {
            match args.format {
                Format::Text => print!("{}", report.text()),
                Format::Json => print!("{}", report.json()),
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("hasim validate: {e}");
            ExitCode::from(2)
        }
    }
}

/// Writes the cleaned configuration copy into the state directory and runs validate again
/// with `ChrystokiConfigurationPath` naming it.
fn rerun_with_luna_conf(args: &ValidateArgs, state_dir: &Path) -> ExitCode {
    let result = (|| -> Result<std::process::ExitStatus, String> {
        let text = std::fs::read_to_string(&args.conf)
            .map_err(|e| format!("{}: {e}", args.conf.display()))?;
        let cleaned = conf::cleaned_for_luna(&text, &args.conf.display().to_string())
            .map_err(|e| e.to_string())?;
        let dir = state_dir.join("luna-conf");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join("Chrystoki.conf");
        std::fs::write(&file, cleaned).map_err(|e| format!("{}: {e}", file.display()))?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("ChrystokiConfigurationPath", &dir)
            .env(CHILD_MARK, "1")
            .status()
            .map_err(|e| format!("cannot run itself: {e}"))
    })();
    match result {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::from(1),
        },
        Err(e) => {
            eprintln!("hasim validate: {e}");
            ExitCode::from(2)
        }
    }
}
