//! The operator's `Chrystoki.conf` as validate reads it: LunaCM's parser and mapping
//! (`lunacm::chrystoki`), but lenient about values. A value the engine refuses (an
//! out-of-range `reconnAtt`, say) does not stop validate: it becomes a failed check naming the
//! key, the place and the rule, and the key falls back to its default so every other check can
//! still run. Also the cleaned copy a Luna client library is pointed at (D27).

use ha_engine::config::ClientConfig;
use ha_engine::log::HaLogSettings;
use lunacm::chrystoki::mapping::{SECTION_HA_CONFIGURATION, SECTION_VIRTUAL_TOKEN};
use lunacm::chrystoki::{ConfError, Document, ValueError, read_config};

use super::ValidateError;

/// The most refused values validate reports before it gives up on the file.
const MAX_VALUE_ERRORS: usize = 64;

/// The configuration as read, with every value the engine refused.
#[derive(Debug)]
pub struct ConfView {
    /// The settings (refused values at their defaults).
    pub config: ClientConfig,
    /// The HA log settings.
    pub log: HaLogSettings,
    /// The refused values, in the order found.
    pub refused: Vec<ValueError>,
}

/// Reads `text` (`origin` names it in messages). A file that does not parse is an error; a
/// refused value is recorded in [`ConfView::refused`].
pub fn read(text: &str, origin: &str) -> Result<ConfView, ValidateError> {
    let mut doc = Document::parse(text, origin)
        .map_err(|e| ValidateError::Conf(ConfError::Parse(e).to_string()))?;
    let mut refused = Vec::new();
    loop {
        match read_config(&doc) {
            Ok((config, log)) => {
                return Ok(ConfView {
                    config,
                    log,
                    refused,
                });
            }
            Err(ConfError::Value(v)) if refused.len() < MAX_VALUE_ERRORS => {
                let (section, key) = (v.section.clone(), v.key.clone());
                refused.push(*v);
                if !doc.remove(&section, &key) {
                    return Err(ValidateError::Conf(format!(
                        "{origin}: cannot set aside [{section}] {key}"
                    )));
                }
            }
            Err(e) => return Err(ValidateError::Conf(e.to_string())),
        }
    }
}

/// The rule a refusal names (`... (B39, D2)` gives `B39`), or `conf` when it names none.
pub fn rule_of(problem: &str) -> String {
    problem
        .rsplit('(')
        .next()
        .and_then(|tail| {
            tail.split([',', ')', ' ']).find(|w| {
                w.len() > 1
                    && w.starts_with(['B', 'D'])
                    && w[1..].chars().all(|c| c.is_ascii_digit())
            })
        })
        .map_or_else(|| "conf".to_string(), str::to_string)
}

/// The copy of the operator's configuration a Luna client library reads during validate
/// (D27): `HAOnly = 0` and no `VirtualToken` group keys, so the members' physical slots are
/// visible and the vendor's HA layer does not run alongside hasim's engine. Everything else
/// (server certificates, client settings) is kept as it was.
pub fn cleaned_for_luna(text: &str, origin: &str) -> Result<String, ValidateError> {
    let mut doc = Document::parse(text, origin).map_err(|e| ValidateError::Conf(e.to_string()))?;
    let keys: Vec<String> = doc
        .entries_of(SECTION_VIRTUAL_TOKEN)
        .map(|e| e.key().to_string())
        .collect();
    for key in keys {
        doc.remove(SECTION_VIRTUAL_TOKEN, &key);
    }
    if doc.get(SECTION_HA_CONFIGURATION, "HAOnly").is_some() {
        doc.set(SECTION_HA_CONFIGURATION, "HAOnly", "0")
            .map_err(|e| ValidateError::Conf(format!("{origin}: HAOnly: {e}")))?;
    }
    Ok(doc.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "VirtualToken = {\n   VirtualToken00Label = grp;\n   VirtualToken00SN = 1a;\n   VirtualToken00Members = a,b;\n}\nHAConfiguration = {\n   HAOnly = 1;\n   reconnAtt = 9999;\n   AutoReconnectInterval = 60;\n}\nChrystoki2 = {\n   LibUNIX64 = /usr/lib/libCryptoki2_64.so;\n}\n";

    #[test]
    fn a_refused_value_is_recorded_and_the_rest_is_read() {
        let view = read(CONF, "Chrystoki.conf").unwrap();
        assert_eq!(view.refused.len(), 1);
        assert_eq!(view.refused[0].key, "reconnAtt");
        assert_eq!(rule_of(&view.refused[0].problem), "B39");
        assert_eq!(view.config.groups[0].members, ["a", "b"]);
        assert!(view.config.ha_only);
    }

    #[test]
    fn rule_of_takes_the_first_rule_in_the_last_parenthesis() {
        assert_eq!(
            rule_of("is out of range: allowed 60..1200 seconds (B39, D2)"),
            "B39"
        );
        assert_eq!(rule_of("no rule here"), "conf");
    }

    #[test]
    fn the_luna_copy_has_no_groups_and_haonly_off() {
        let text = cleaned_for_luna(CONF, "Chrystoki.conf").unwrap();
        assert!(!text.contains("VirtualToken00"), "{text}");
        assert!(text.contains("HAOnly = 0"), "{text}");
        assert!(text.contains("LibUNIX64"), "{text}");
    }
}
