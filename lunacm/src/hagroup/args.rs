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

/// An option token split into its name and a value joined to it with `=` or `:` (`-p=V`,
/// `--password:V`): one or two dashes, then the name. `None` when the token is not an option
/// (no dash, or a negative number). Double quotes are not part of either half.
pub fn split_option(token: &str) -> Option<(String, Option<String>)> {
    let unquoted: String = token.chars().filter(|c| *c != '"').collect();
    let body = unquoted
        .strip_prefix("--")
        .or_else(|| unquoted.strip_prefix('-'))?;
    if body.is_empty() || body.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match body.find(['=', ':']) {
        Some(i) => Some((body[..i].to_string(), Some(body[i + 1..].to_string()))),
        None => Some((body.to_string(), None)),
    }
}

/// True for `-password` or any abbreviation of it (`-p`, `-pa`, ...), in any case, with one
/// or two dashes, quoted or not, with or without a value joined by `=` or `:`.
pub fn is_password_option(token: &str) -> bool {
    split_option(token).is_some_and(|(name, _)| {
        !name.is_empty() && "password".starts_with(&name.to_ascii_lowercase())
    })
}

/// Where `password` (any case) ends in `text`, when something follows it there.
fn after_password(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let end = lower.find("password")? + "password".len();
    (end < text.len()).then_some(end)
}

/// One token as it may be shown: a password option's joined value, and whatever follows
/// `password` inside any other token, replaced by [`REDACTED`].
pub fn redact_token(token: &str) -> String {
    if is_password_option(token) {
        if let Some(i) = token.find(['=', ':']) {
            let close = if token.starts_with('"') { "\"" } else { "" };
            return format!("{}{REDACTED}{close}", &token[..=i]);
        }
        return token.to_string();
    }
    match after_password(token) {
        Some(end) => format!("{}{REDACTED}", &token[..end]),
        None => token.to_string(),
    }
}

/// What stands in for a credential wherever a command line is shown.
pub const REDACTED: &str = "********";

/// The line as typed, for transcripts, prompts and errors: the value after a password option
/// (`-password`, `-p`, `--PASS`, ..., separate or joined by `=` / `:`, quoted or not) and
/// whatever follows `password` inside a token are replaced by [`REDACTED`], even where the
/// command reads the option as another one (`halog -p V` is `-path`); control characters are
/// escaped ([`crate::printable`]). Credentials never appear in what is shown.
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
            out.push_str(&redact_token(token));
        }
        hide_next = is_password_option(token) && !token.contains(['=', ':']);
        rest = &rest[end..];
    }
    crate::printable::escape(&out).into_owned()
}

/// The credential values a line carries (what [`redact`] hides), unquoted: the value after or
/// joined to a password option, and what follows `password` inside a token. Output and errors
/// of the command are scrubbed of them ([`scrub`]).
pub fn secrets(line: &str) -> Vec<String> {
    let tokens = match tokenize(line) {
        Ok(tokens) => tokens,
        // An unterminated quote: every whitespace-separated piece after a password option.
        Err(_) => line
            .split_whitespace()
            .map(|t| t.replace('"', ""))
            .collect(),
    };
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if is_password_option(token) {
            match split_option(token) {
                Some((_, Some(joined))) => out.push(joined),
                _ => out.extend(tokens.get(i + 1).cloned()),
            }
        } else if let Some(end) = after_password(token) {
            out.push(token[end..].to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `text` with every one of `secrets` replaced by [`REDACTED`].
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
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

/// Parses `tokens` (after the command words) against `specs`. An option is `-name` or
/// `--name` (any unique prefix of a name, any case); its value follows it, or is joined to it
/// with `=` or `:` (`-count=3`). Errors never repeat a credential ([`redact_token`]).
pub fn parse(command: &str, tokens: &[String], specs: &[OptSpec]) -> Result<Parsed, CommandError> {
    let mut parsed = Parsed::default();
    let expected = || {
        if specs.is_empty() {
            return "it takes no options".to_string();
        }
        let names: Vec<String> = specs.iter().map(|s| format!("-{}", s.name)).collect();
        format!("expected one of: {}", names.join(", "))
    };
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let Some((name, joined)) = split_option(token) else {
            let shown = if i > 0 && is_password_option(&tokens[i - 1]) {
                REDACTED.to_string()
            } else {
                redact_token(token)
            };
            let expected = if specs.is_empty() {
                "it takes no arguments".to_string()
            } else {
                let names: Vec<String> = specs.iter().map(|s| format!("-{}", s.name)).collect();
                format!("expected options: {}", names.join(", "))
            };
            return Err(CommandError::Syntax(format!(
                "{command}: unexpected argument '{shown}' ({expected})"
            )));
        };
        let lower = name.to_ascii_lowercase();
        let exact: Vec<&OptSpec> = specs.iter().filter(|s| s.name == lower).collect();
        let candidates: Vec<&OptSpec> = if exact.is_empty() && !lower.is_empty() {
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
                    "{command}: unknown option '{}' ({})",
                    redact_token(token),
                    expected()
                )));
            }
            many => {
                let names: Vec<String> = many.iter().map(|s| format!("-{}", s.name)).collect();
                return Err(CommandError::Syntax(format!(
                    "{command}: option '{}' is ambiguous (could be {})",
                    redact_token(token),
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
            let (value, used) = match joined {
                Some(v) if !v.is_empty() => (Some(v), 1),
                Some(_) => (None, 1),
                None => (
                    tokens
                        .get(i + 1)
                        .filter(|v| !v.starts_with('-') || looks_like_number(v))
                        .cloned(),
                    2,
                ),
            };
            let Some(value) = value else {
                return Err(CommandError::Syntax(format!(
                    "{command}: option -{} needs a value",
                    spec.name
                )));
            };
            parsed.values.insert(spec.name, Some(value));
            i += used;
        } else {
            if joined.is_some() {
                return Err(CommandError::Syntax(format!(
                    "{command}: option -{} takes no value",
                    spec.name
                )));
            }
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
