//! LunaCM command-line parsing: tokens (with double quotes), options by name or by any unique
//! prefix of it (`-se`, `-sl`, `-g`), values, and typed errors that name the command, the option
//! and what was expected.

use std::collections::BTreeMap;

use crate::error::CommandError;

/// One option a command accepts.
#[derive(Clone, Copy, Debug)]
pub struct OptSpec {
    /// Full name without the dash, e.g. `serialnumber`.
    pub name: &'static str,
    /// True when a value follows.
    pub takes_value: bool,
}

/// Shorthand for an option with a value.
pub const fn value(name: &'static str) -> OptSpec {
    OptSpec {
        name,
        takes_value: true,
    }
}

/// Shorthand for a flag.
pub const fn flag(name: &'static str) -> OptSpec {
    OptSpec {
        name,
        takes_value: false,
    }
}

/// Options given on one command line, by full name.
#[derive(Debug, Default)]
pub struct Parsed {
    values: BTreeMap<&'static str, Option<String>>,
}

impl Parsed {
    /// The value of an option, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.as_deref())
    }

    /// True when the option (flag or valued) was given.
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Names given, in option-name order.
    pub fn given(&self) -> Vec<&'static str> {
        self.values.keys().copied().collect()
    }
}

/// What stands in for a credential wherever a command line is shown.
pub const REDACTED: &str = "********";

/// True for `-password` or any abbreviation LunaCM would accept for it (`-p`, `-pa`, ...).
pub fn is_password_option(token: &str) -> bool {
    token
        .strip_prefix('-')
        .is_some_and(|n| !n.is_empty() && "password".starts_with(&n.to_ascii_lowercase()))
}

/// The line as typed, with the value after a password option replaced by [`REDACTED`], for
/// transcripts, prompts and errors (credentials never appear in them).
pub fn redact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut hide_next = false;
    let mut rest = line;
    while !rest.is_empty() {
        let start = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if rest.is_empty() {
            break;
        }
        // One token: up to whitespace outside double quotes.
        let mut in_quotes = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    in_quotes = !in_quotes;
                }
                c.is_whitespace() && !in_quotes
            })
            .map_or(rest.len(), |(i, _)| i);
        let token = &rest[..end];
        if hide_next {
            out.push_str(REDACTED);
        } else {
            out.push_str(token);
        }
        hide_next = is_password_option(token);
        rest = &rest[end..];
    }
    out
}

/// Splits a command line into tokens; `"..."` keeps spaces.
pub fn tokenize(line: &str) -> Result<Vec<String>, CommandError> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut has_token = false;
    for c in line.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has_token = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_token {
                    tokens.push(std::mem::take(&mut current));
                    has_token = false;
                }
            }
            c => {
                current.push(c);
                has_token = true;
            }
        }
    }
    if in_quotes {
        // The rest of the line is never echoed: it may be a credential.
        let column = line.rfind('"').map_or(0, |i| line[..i].chars().count() + 1);
        return Err(CommandError::Syntax(format!(
            "unterminated quote in the command line (opened at column {column})"
        )));
    }
    if has_token {
        tokens.push(current);
    }
    Ok(tokens)
}

fn looks_like_number(token: &str) -> bool {
    token
        .strip_prefix('-')
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
}

/// Parses `tokens` (after the command words) against `specs`.
pub fn parse(command: &str, tokens: &[String], specs: &[OptSpec]) -> Result<Parsed, CommandError> {
    let mut parsed = Parsed::default();
    let expected = || {
        specs
            .iter()
            .map(|s| format!("-{}", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let Some(name) = token.strip_prefix('-').filter(|n| !n.is_empty()) else {
            let shown = if i > 0 && is_password_option(&tokens[i - 1]) {
                REDACTED
            } else {
                token.as_str()
            };
            return Err(CommandError::Syntax(format!(
                "{command}: unexpected argument '{shown}' (expected options: {})",
                expected()
            )));
        };
        let lower = name.to_ascii_lowercase();
        let exact: Vec<&OptSpec> = specs.iter().filter(|s| s.name == lower).collect();
        let candidates: Vec<&OptSpec> = if exact.is_empty() {
            specs
                .iter()
                .filter(|s| s.name.starts_with(&lower))
                .collect()
        } else {
            exact
        };
        let spec = match candidates.as_slice() {
            [one] => **one,
            [] => {
                return Err(CommandError::Syntax(format!(
                    "{command}: unknown option '{token}' (expected one of: {})",
                    expected()
                )));
            }
            many => {
                let names: Vec<String> = many.iter().map(|s| format!("-{}", s.name)).collect();
                return Err(CommandError::Syntax(format!(
                    "{command}: option '{token}' is ambiguous (could be {})",
                    names.join(" or ")
                )));
            }
        };
        if parsed.values.contains_key(spec.name) {
            return Err(CommandError::Syntax(format!(
                "{command}: option -{} is given more than once",
                spec.name
            )));
        }
        if spec.takes_value {
            let value = tokens
                .get(i + 1)
                .filter(|v| !v.starts_with('-') || looks_like_number(v));
            let Some(value) = value else {
                return Err(CommandError::Syntax(format!(
                    "{command}: option -{} needs a value",
                    spec.name
                )));
            };
            parsed.values.insert(spec.name, Some(value.clone()));
            i += 2;
        } else {
            parsed.values.insert(spec.name, None);
            i += 1;
        }
    }
    Ok(parsed)
}

/// The value of a required option, or an error naming it.
pub fn required<'a>(
    command: &str,
    parsed: &'a Parsed,
    name: &str,
) -> Result<&'a str, CommandError> {
    parsed
        .get(name)
        .ok_or_else(|| CommandError::Syntax(format!("{command}: missing required option -{name}")))
}

/// Parses an integer option value, naming the option on failure.
pub fn integer(command: &str, name: &str, value: &str) -> Result<i64, CommandError> {
    value.parse::<i64>().map_err(|_| {
        CommandError::Syntax(format!(
            "{command}: -{name} needs a whole number, got '{value}'"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptSpec] = &[
        value("serialnumber"),
        value("slot"),
        value("group"),
        flag("force"),
    ];

    fn toks(s: &str) -> Vec<String> {
        tokenize(s).expect("tokens")
    }

    #[test]
    fn credentials_are_never_echoed() {
        assert_eq!(
            redact("hagroup addmember -se 22 -p  \"s3 cret\" -g g"),
            "hagroup addmember -se 22 -p  ******** -g g"
        );
        assert_eq!(redact("hagroup retry -count 3"), "hagroup retry -count 3");
        let e =
            tokenize("hagroup creategroup -label g -password \"hunter2").expect_err("open quote");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let specs = [value("label")];
        let e = parse("c", &toks("-password hun ter2"), &specs).expect_err("unknown");
        assert!(!e.to_string().contains("ter2"), "{e}");
    }

    #[test]
    fn unique_prefixes_resolve() {
        let p = parse("hagroup addmember", &toks("-se 123 -g grp"), SPECS).expect("parse");
        assert_eq!(p.get("serialnumber"), Some("123"));
        assert_eq!(p.get("group"), Some("grp"));
    }

    #[test]
    fn ambiguous_prefix_is_refused_with_candidates() {
        let e = parse("hagroup addmember", &toks("-s 123"), SPECS).expect_err("ambiguous");
        assert_eq!(
            e.to_string(),
            "hagroup addmember: option '-s' is ambiguous (could be -serialnumber or -slot)"
        );
    }

    #[test]
    fn negative_numbers_are_values() {
        let specs = [value("count")];
        let p = parse("hagroup retry", &toks("-count -1"), &specs).expect("parse");
        assert_eq!(p.get("count"), Some("-1"));
        let e = parse("hagroup retry", &toks("-count"), &specs).expect_err("missing");
        assert_eq!(e.to_string(), "hagroup retry: option -count needs a value");
    }

    #[test]
    fn quotes_keep_spaces_and_unknown_options_list_alternatives() {
        assert_eq!(toks(r#"a "b c" d"#), vec!["a", "b c", "d"]);
        let e = parse("hagroup x", &toks("-bogus 1"), SPECS).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "hagroup x: unknown option '-bogus' (expected one of: -serialnumber, -slot, -group, -force)"
        );
    }
}
