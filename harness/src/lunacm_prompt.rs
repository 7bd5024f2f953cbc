//! `hasim lunacm <scenario.ron>`: a LunaCM prompt over a scenario's topology. The scenario's
//! partitions become the client's slots ([`crate::topology::build_world`]), its `conf` is the
//! configuration file LunaCM starts with (a file that cannot be read refuses the session with
//! `Chrystoki.conf:line:col`), its `setup` lines run first, then LunaCM command lines are read one by one and each output is printed as LunaCM
//! prints it ([`lunacm::LunaCm::execute`]). The scenario's `steps` and `expect` are not run.
//!
//! Interactive (stdin is a terminal): the prompt `lunacm:> ` is printed before each line and the
//! terminal shows what is typed. Piped: every line read is echoed after `lunacm:> `, so the
//! output reads like a LunaCM session; the setup lines are echoed the same way. `exit`, `quit`
//! or the end of input ends the session; blank lines are skipped.
//!
//! The Crypto Officer credential is the scenario's fixture: it is never typed, never echoed and
//! never printed. Virtual time does not advance at the prompt (every command runs at the
//! scenario's start instant), so no recovery attempt falls due.

use std::io::{self, BufRead, Write};
use std::path::Path;

use ha_engine::ports::Secret;
use lunacm::LunaCm;
use lunacm::hagroup::args::redact;
use sim::world::World;

use crate::scenario::{self, LoadError, Scenario};
use crate::topology::{TopologyError, build_lunacm, build_world};

/// The LunaCM prompt.
pub const PROMPT: &str = "lunacm:> ";

/// Why the prompt could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The scenario file is not a valid scenario.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The scenario's topology cannot be built.
    #[error("{file}: topology: {source}")]
    Topology {
        /// The scenario file.
        file: String,
        /// What is wrong.
        source: TopologyError,
    },
    /// The scenario's `conf` cannot be loaded (`Chrystoki.conf:line:col: ...`).
    #[error("{file}: conf: {source}")]
    Conf {
        /// The scenario file.
        file: String,
        /// What is wrong.
        source: Box<lunacm::chrystoki::ConfError>,
    },
    /// Reading commands or writing output failed.
    #[error("hasim lunacm: {0}")]
    Io(#[from] io::Error),
}

/// A LunaCM session over one scenario's world.
pub struct Session {
    world: World,
    lunacm: LunaCm,
    credential: Secret,
}

impl Session {
    /// Builds the scenario's world (the setup is not run yet).
    pub fn new(scenario: &Scenario, origin: &str) -> Result<Session, PromptError> {
        let mut world = build_world(scenario).map_err(|source| PromptError::Topology {
            file: origin.to_string(),
            source,
        })?;
        let mut lunacm = build_lunacm(&world);
        // The scenario's configuration file is what LunaCM finds when it starts.
        if let Some(text) = scenario.conf.as_deref() {
            let now = world.now();
            let name = lunacm::chrystoki::Format::sniff(text).file_name();
            lunacm
                .load_conf(world.engine(), now, text, name)
                .map_err(|source| PromptError::Conf {
                    file: origin.to_string(),
                    source: Box::new(source),
                })?;
        }
        Ok(Session {
            world,
            lunacm,
            credential: Secret::new(scenario.credentials.co.clone()),
        })
    }

    /// Runs one command line and returns its output as LunaCM prints it.
    pub fn command(&mut self, line: &str) -> String {
        let now = self.world.now();
        self.lunacm
            .execute(self.world.engine(), now, line, Some(&self.credential))
            .render()
    }
}

/// True for the words that end the session.
fn is_exit(line: &str) -> bool {
    line.eq_ignore_ascii_case("exit") || line.eq_ignore_ascii_case("quit")
}

/// Runs `setup`, then every line of `input` until `exit`/`quit`/end of input, writing to `out`.
/// `interactive` prints the prompt before reading instead of echoing each line after it.
pub fn run_session(
    session: &mut Session,
    setup: &[String],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    interactive: bool,
) -> io::Result<()> {
    for line in setup {
        writeln!(out, "{PROMPT}{}", redact(line))?;
        write!(out, "{}", session.command(line))?;
        writeln!(out)?;
    }
    let mut buffer = Vec::new();
    let (mut line_number, mut offset) = (0usize, 0usize);
    loop {
        if interactive {
            write!(out, "{PROMPT}")?;
            out.flush()?;
        }
        buffer.clear();
        let read = read_line_bounded(input, &mut buffer)?;
        if read == 0 {
            if interactive {
                writeln!(out)?;
            }
            return Ok(());
        }
        line_number += 1;
        let start = offset;
        offset += read;
        if read > MAX_LINE_BYTES {
            writeln!(
                out,
                "Error: stdin:{line_number}: the line is longer than {MAX_LINE_BYTES} bytes; it is skipped\n\nCommand Result : Invalid Argument\n"
            )?;
            continue;
        }
        let text = match std::str::from_utf8(&buffer) {
            Ok(text) => text,
            Err(e) => {
                // Never guessed at, never written raw: where it is, and the line is skipped.
                let good = &buffer[..e.valid_up_to()];
                let col = String::from_utf8_lossy(good).chars().count() + 1;
                writeln!(
                    out,
                    "Error: stdin:{line_number}:{col}: invalid UTF-8 (byte offset {}); the line is skipped\n\nCommand Result : Invalid Argument\n",
                    start + e.valid_up_to()
                )?;
                continue;
            }
        };
        let line = text.trim();
        if line.is_empty() {
            continue;
        }
        if !interactive {
            writeln!(out, "{PROMPT}{}", redact(line))?;
        }
        if is_exit(line) {
            return Ok(());
        }
        write!(out, "{}", session.command(line))?;
        writeln!(out)?;
        out.flush()?;
    }
}

/// The longest command line the prompt reads (a longer one is skipped with an error; nothing
/// of it is kept beyond this many bytes).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Reads one line (with its `\n`) into `buffer`, keeping at most `MAX_LINE_BYTES + 1` bytes of
/// it; returns how many bytes the line had (0 at the end of input).
fn read_line_bounded(input: &mut dyn BufRead, buffer: &mut Vec<u8>) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buffer.len());
        buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        total += n;
        input.consume(n);
        if done {
            return Ok(total);
        }
    }
}

/// `hasim lunacm <file>`: loads the scenario, then runs the session on stdin and stdout.
pub fn run_file(path: &Path) -> Result<(), PromptError> {
    use std::io::IsTerminal as _;
    let scenario = scenario::load_file(path)?;
    let mut session = Session::new(&scenario, &path.display().to_string())?;
    let stdin = io::stdin();
    let interactive = stdin.is_terminal();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    run_session(
        &mut session,
        &scenario.setup,
        &mut input,
        &mut out,
        interactive,
    )?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    const SCENARIO: &str = r#"Scenario(
    version: 1,
    name: "prompt",
    credentials: (co: "prompt-secret"),
    partitions: [(serial: 11, label: "a"), (serial: 22, label: "b")],
    setup: ["hagroup creategroup -label g -serialnumber 11"],
    expect: [Log("x"), ObjectCounts({11: 0})],
)"#;

    fn session_output(input: &str, interactive: bool) -> String {
        let scenario = scenario::parse_str(SCENARIO, "t.ron").expect("scenario");
        let mut session = Session::new(&scenario, "t.ron").expect("world");
        let mut out = Vec::new();
        run_session(
            &mut session,
            &scenario.setup,
            &mut input.as_bytes(),
            &mut out,
            interactive,
        )
        .expect("session");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn piped_lines_are_echoed_after_the_prompt_and_exit_ends() {
        let out = session_output("\nslot set -slot 2\nexit\nslot list\n", false);
        assert_eq!(
            out,
            "lunacm:> hagroup creategroup -label g -serialnumber 11\n\
             \x20       New group with label \"g\" created with group number 111.\n\
             \n\
             Command Result : No Error\n\
             \n\
             lunacm:> slot set -slot 2\n\
             \n\
             \x20       Current Slot Id:    2     (HA Virtual Card Slot)\n\
             \n\
             Command Result : No Error\n\
             \n\
             lunacm:> exit\n"
        );
        assert!(!out.contains("prompt-secret"));
    }

    #[test]
    fn interactive_prints_the_prompt_and_does_not_echo() {
        let out = session_output("slot set -slot 9\n", true);
        assert!(
            out.ends_with(
                "lunacm:> Error: slot set: -slot 9 is not a slot LunaCM lists (slots 0..2 are listed; D14)\n\
                 \n\
                 Command Result : Invalid Argument\n\
                 \n\
                 lunacm:> \n"
            ),
            "{out}"
        );
    }
}
