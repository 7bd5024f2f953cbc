//! Mapping between a [`Document`] and the engine's [`ClientConfig`] + [`HaLogSettings`] (spec §2,
//! D1, D2): [`read_config`] reads the known keys (defaults per D1 when absent, a typed error
//! naming the place and the rule when a value is out of range), [`write_config`] changes only
//! the keys whose meaning differs from the configuration. Every other section, key and comment
//! is left exactly as it was.
//!
//! Keys: `[VirtualToken]` `VirtualToken<NN>Label` / `SN` / `Members`,
//! `VirtualTokenActiveRecovery`; `[HASynchronize]` `<label> = 1 | 0` (D21: absent = on); `[HAConfiguration]` `HAOnly`,
//! `haLogPath`, `haLogStatus`, `logLen`, `reconnAtt`, `AutoReconnectInterval` (D2),
//! `<label>StandbyMembers`, `failover_on_deactivation`; `[HARecovery]` `<label> = N`;
//! `[HasimMinCopies]` `<label> = N` (hasim only, D36: read, never written);
//! `[Toggles]` `lunacm_cv_ha_ui`; `[LunaSA Client]` `ReceiveTimeout` and `ProbeTimeout` (its
//! section is undocumented, B32: hasim keeps it beside `ReceiveTimeout`).

use std::collections::{BTreeMap, BTreeSet};

use crate::chrystoki::document::{Document, WriteError};
use crate::chrystoki::parse::ParseError;
use ha_engine::config::{ClientConfig, GroupConfig, INTERVAL_RANGE_S, RecoveryMode, RetryLimit};
use ha_engine::log::{DEFAULT_MAX_LEN, HaLogSettings};

/// `[VirtualToken]`: the groups and the recovery mode.
pub const SECTION_VIRTUAL_TOKEN: &str = "VirtualToken";
/// `[HASynchronize]`: `<label> = 1` turns automatic synchronisation on (B60).
pub const SECTION_HA_SYNCHRONIZE: &str = "HASynchronize";
/// `[HAConfiguration]`: global HA settings and standby members.
pub const SECTION_HA_CONFIGURATION: &str = "HAConfiguration";
/// `[HARecovery]`: the legacy manual-recovery counters (B45).
pub const SECTION_HA_RECOVERY: &str = "HARecovery";
/// `[HasimMinCopies]`: `<label> = N`, the replication floor (hasim only, beyond Luna, D36).
pub const SECTION_MIN_COPIES: &str = "HasimMinCopies";
/// `[Toggles]`.
pub const SECTION_TOGGLES: &str = "Toggles";
/// `[LunaSA Client]`: client timeouts (B28, B32).
pub const SECTION_LUNASA_CLIENT: &str = "LunaSA Client";

/// `VirtualTokenActiveRecovery` in `[VirtualToken]`.
pub const KEY_ACTIVE_RECOVERY: &str = "VirtualTokenActiveRecovery";
/// `HAOnly`.
pub const KEY_HA_ONLY: &str = "HAOnly";
/// `haLogPath`.
pub const KEY_LOG_PATH: &str = "haLogPath";
/// `haLogStatus`.
pub const KEY_LOG_STATUS: &str = "haLogStatus";
/// `logLen`.
pub const KEY_LOG_LEN: &str = "logLen";
/// `reconnAtt`.
pub const KEY_RETRY: &str = "reconnAtt";
/// The recovery interval key, `AutoReconnectInterval` (D2: the only place this name is spelled).
pub const KEY_INTERVAL: &str = "AutoReconnectInterval";
/// `failover_on_deactivation`.
pub const KEY_FAILOVER_ON_DEACTIVATION: &str = "failover_on_deactivation";
/// Suffix of `<label>StandbyMembers`.
pub const KEY_STANDBY_SUFFIX: &str = "StandbyMembers";
/// `lunacm_cv_ha_ui` in `[Toggles]`.
pub const KEY_CLOUD_HA_UI: &str = "lunacm_cv_ha_ui";
/// `ReceiveTimeout` in `[LunaSA Client]`.
pub const KEY_RECEIVE_TIMEOUT: &str = "ReceiveTimeout";
/// `ProbeTimeout`, kept in `[LunaSA Client]` (B32).
pub const KEY_PROBE_TIMEOUT: &str = "ProbeTimeout";

/// A configuration file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    /// The text is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A known key has a value the engine refuses.
    #[error(transparent)]
    Value(Box<ValueError>),
    /// The file removes or renumbers a group the running application was initialised with.
    #[error(
        "{origin}: group '{label}' (VirtualToken{nn:02}) is in use by the running application; it cannot be removed or renumbered until C_Finalize"
    )]
    GroupInUse {
        /// The file.
        origin: String,
        /// The group's label.
        label: String,
        /// Its `NN`.
        nn: usize,
    },
    /// The running engine refuses the configuration for another reason.
    #[error("{origin}: the running application cannot take this configuration: {reason}")]
    Rejected {
        /// The file.
        origin: String,
        /// The engine's reason.
        reason: String,
    },
    /// A configuration value cannot be written in the file's format.
    #[error("{origin}: cannot write [{section}] {key}: {reason}")]
    Unwritable {
        /// The file.
        origin: String,
        /// The section.
        section: String,
        /// The key.
        key: String,
        /// Why.
        reason: WriteError,
    },
}

/// A known key whose value the engine refuses: where, which key, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{col}: [{section}] {key} = {} {problem}", shown(.raw))]
pub struct ValueError {
    /// The file.
    pub origin: String,
    /// 1-based line of the value.
    pub line: usize,
    /// 1-based column of the value.
    pub col: usize,
    /// The section, as spelled in the file.
    pub section: String,
    /// The key, as spelled in the file.
    pub key: String,
    /// The value as written.
    pub raw: String,
    /// What is wrong, with the rule.
    pub problem: String,
}

fn shown(raw: &str) -> &str {
    if raw.is_empty() { "(empty)" } else { raw }
}

/// The key names of group `nn` (the digits of `VirtualToken<NN>...`).
fn group_key(nn: &str, what: &str) -> String {
    format!("VirtualToken{nn}{what}")
}

/// `(NN, kind)` of a `VirtualToken<NN>{Label|SN|Members}` key.
fn split_group_key(key: &str) -> Option<(&str, &'static str)> {
    let prefix = "virtualtoken";
    // `get` and not `[..]`: a key may hold non-ASCII characters, and a byte slice through one
    // would panic.
    let rest = key
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .and_then(|_| key.get(prefix.len()..))
        .filter(|rest| !rest.is_empty())?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let (nn, what) = rest.split_at(digits);
    ["Label", "SN", "Members"]
        .into_iter()
        .find(|w| what.eq_ignore_ascii_case(w))
        .map(|w| (nn, w))
}

/// Reads one value with the place for errors.
struct Reader<'a> {
    doc: &'a Document,
}

impl Reader<'_> {
    fn fail(&self, section: &str, key: &str, problem: String) -> ConfError {
        let (line, col) = self.doc.value_position(section, key).unwrap_or((0, 0));
        let entry = self.doc.get(section, key);
        ConfError::Value(Box::new(ValueError {
            origin: self.doc.origin().to_string(),
            line,
            col,
            section: self
                .doc
                .sections()
                .find(|s| s.name().eq_ignore_ascii_case(section))
                .map_or(section, |s| s.name())
                .to_string(),
            key: entry.map_or(key, |e| e.key()).to_string(),
            raw: entry.map_or("", |e| e.raw_value()).to_string(),
            problem,
        }))
    }

    fn value(&self, section: &str, key: &str) -> Option<&str> {
        self.doc.value(section, key).map(str::trim)
    }

    fn parsed<T>(
        &self,
        section: &str,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        problem: impl Fn() -> String,
    ) -> Result<Option<T>, ConfError> {
        match self.value(section, key) {
            None => Ok(None),
            Some(v) => match parse(v) {
                Some(t) => Ok(Some(t)),
                None => Err(self.fail(section, key, problem())),
            },
        }
    }
}

fn parse_flag(v: &str) -> Option<bool> {
    match v {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

fn parse_retry(v: &str) -> Option<RetryLimit> {
    v.parse::<i64>().ok().and_then(RetryLimit::from_count)
}

fn parse_interval(v: &str) -> Option<u64> {
    v.parse::<u64>()
        .ok()
        .filter(|s| INTERVAL_RANGE_S.contains(s))
}

fn parse_mode(v: &str) -> Option<RecoveryMode> {
    if v.eq_ignore_ascii_case("activeBasic") {
        Some(RecoveryMode::ActiveBasic)
    } else if v.eq_ignore_ascii_case("activeEnhanced") {
        Some(RecoveryMode::ActiveEnhanced)
    } else {
        None
    }
}

fn parse_status(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("enabled") {
        Some(true)
    } else if v.eq_ignore_ascii_case("disabled") {
        Some(false)
    } else {
        None
    }
}

fn parse_positive(v: &str) -> Option<u64> {
    v.parse::<u64>().ok().filter(|n| *n > 0)
}

/// Comma-separated serials, spaces around them ignored; `None` when one is empty.
fn parse_list(v: &str) -> Option<Vec<String>> {
    if v.trim().is_empty() {
        return Some(Vec::new());
    }
    v.split(',')
        .map(|s| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        })
        .collect()
}

fn retry_problem() -> String {
    format!(
        "is out of range: allowed 0 (disable), -1 (unlimited) or 1..{} (B39)",
        RetryLimit::MAX
    )
}

fn interval_problem() -> String {
    format!(
        "is out of range: allowed {}..{} seconds (B39, D2)",
        INTERVAL_RANGE_S.start(),
        INTERVAL_RANGE_S.end()
    )
}

/// Reads the HA configuration and the HA log settings from `doc` (spec §2); absent keys take
/// their D1 defaults. The first value that is out of range or inconsistent is reported with
/// its place and the rule.
pub fn read_config(doc: &Document) -> Result<(ClientConfig, HaLogSettings), ConfError> {
    let r = Reader { doc };
    let mut cfg = ClientConfig::default();
    let mut log = HaLogSettings::default();
    cfg.groups = read_groups(&r)?;

    let vt = SECTION_VIRTUAL_TOKEN;
    if let Some(mode) = r.parsed(vt, KEY_ACTIVE_RECOVERY, parse_mode, || {
        "is not a recovery mode: expected activeBasic or activeEnhanced (B39, B42)".to_string()
    })? {
        cfg.mode = mode;
    }

    for e in doc.entries_of(SECTION_HA_SYNCHRONIZE) {
        let on = parse_flag(e.value().trim()).ok_or_else(|| {
            r.fail(
                SECTION_HA_SYNCHRONIZE,
                e.key(),
                "is not 1 (on) or 0 (off) (B60)".to_string(),
            )
        })?;
        cfg.synchronize.insert(e.key().to_string(), on);
    }

    for e in doc.entries_of(SECTION_MIN_COPIES) {
        let n = e
            .value()
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=32).contains(n))
            .ok_or_else(|| {
                r.fail(
                    SECTION_MIN_COPIES,
                    e.key(),
                    "is out of range: allowed 1..32 copies (B6, D36)".to_string(),
                )
            })?;
        cfg.min_copies.insert(e.key().to_string(), n);
    }

    let hc = SECTION_HA_CONFIGURATION;
    if let Some(v) = r.parsed(hc, KEY_HA_ONLY, parse_flag, || {
        "is not 0 or 1 (B57)".to_string()
    })? {
        cfg.ha_only = v;
    }
    log.path = r
        .value(hc, KEY_LOG_PATH)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    if let Some(v) = r.parsed(hc, KEY_LOG_STATUS, parse_status, || {
        "is not enabled or disabled (B65)".to_string()
    })? {
        log.enabled = v;
    }
    if let Some(v) = r.parsed(hc, KEY_LOG_LEN, parse_positive, || {
        "is out of range: a positive number of bytes (B64)".to_string()
    })? {
        log.max_len = v;
    }
    if let Some(v) = r.parsed(hc, KEY_RETRY, parse_retry, retry_problem)? {
        cfg.retry = v;
    }
    if let Some(v) = r.parsed(hc, KEY_INTERVAL, parse_interval, interval_problem)? {
        cfg.interval_s = v;
    }
    if let Some(v) = r.parsed(hc, KEY_FAILOVER_ON_DEACTIVATION, parse_flag, || {
        "is not 0 or 1 (B33)".to_string()
    })? {
        cfg.failover_on_deactivation = v;
    }
    for g in &mut cfg.groups {
        let key = format!("{}{KEY_STANDBY_SUFFIX}", g.label);
        let Some(list) = r.parsed(hc, &key, parse_list, || {
            "has an empty member serial (B38)".to_string()
        })?
        else {
            continue;
        };
        for serial in list {
            if !g.members.contains(&serial) {
                return Err(r.fail(
                    hc,
                    &key,
                    format!(
                        "lists {serial}, which is not a member of group '{}' (B38)",
                        g.label
                    ),
                ));
            }
            g.standby.insert(serial);
        }
    }

    for e in doc.entries_of(SECTION_HA_RECOVERY) {
        let n = e.value().trim().parse::<u64>().map_err(|_| {
            r.fail(
                SECTION_HA_RECOVERY,
                e.key(),
                "is not a recovery counter: a whole number 0 or more (B45)".to_string(),
            )
        })?;
        cfg.legacy_recovery.entry(e.key().to_string()).or_insert(n);
    }

    if let Some(v) = r.parsed(SECTION_TOGGLES, KEY_CLOUD_HA_UI, parse_flag, || {
        "is not 0 or 1 (B15)".to_string()
    })? {
        cfg.cloud_members_standby = v;
    }

    let lc = SECTION_LUNASA_CLIENT;
    if let Some(v) = r.parsed(lc, KEY_RECEIVE_TIMEOUT, parse_positive, || {
        "is not a positive number of milliseconds (B28)".to_string()
    })? {
        cfg.receive_timeout_ms = v;
    }
    cfg.probe_timeout_ms = r.parsed(lc, KEY_PROBE_TIMEOUT, parse_positive, || {
        "is not a positive number of milliseconds (B32)".to_string()
    })?;
    Ok((cfg, log))
}

/// The groups of `[VirtualToken]`, in `NN` order.
fn read_groups(r: &Reader<'_>) -> Result<Vec<GroupConfig>, ConfError> {
    let vt = SECTION_VIRTUAL_TOKEN;
    // NN (numeric, text) of every group key, first occurrence per key.
    let mut numbers: BTreeSet<(u64, String)> = BTreeSet::new();
    for e in r.doc.entries_of(vt) {
        if let Some((nn, _)) = split_group_key(e.key()) {
            let n = nn.parse::<u64>().unwrap_or(u64::MAX);
            numbers.insert((n, nn.to_string()));
        }
    }
    let mut groups: Vec<GroupConfig> = Vec::new();
    let mut label_keys: Vec<String> = Vec::new();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (_, nn) in numbers {
        let label_key = group_key(&nn, "Label");
        let members_key = group_key(&nn, "Members");
        let sn_key = group_key(&nn, "SN");
        let Some(label) = r.value(vt, &label_key) else {
            let other = if r.doc.get(vt, &members_key).is_some() {
                members_key
            } else {
                sn_key
            };
            return Err(r.fail(vt, &other, format!("has no {label_key} (B5)")));
        };
        if label.is_empty() {
            return Err(r.fail(
                vt,
                &label_key,
                "is empty: a group needs a label (B3)".into(),
            ));
        }
        if label.eq_ignore_ascii_case("HA") {
            return Err(r.fail(
                vt,
                &label_key,
                "is reserved: a group cannot be called HA (B3)".into(),
            ));
        }
        if let Some(i) = groups
            .iter()
            .position(|g| g.label.eq_ignore_ascii_case(label))
        {
            return Err(r.fail(
                vt,
                &label_key,
                format!(
                    "repeats the label of {}: group labels must be unique (B3)",
                    label_keys[i]
                ),
            ));
        }
        let Some(members) = r.parsed(vt, &members_key, parse_list, || {
            "has an empty member serial (B5)".to_string()
        })?
        else {
            return Err(r.fail(
                vt,
                &label_key,
                format!("has no {members_key}: a group needs at least one member (B5)"),
            ));
        };
        if members.is_empty() {
            return Err(r.fail(
                vt,
                &members_key,
                "lists no member: a group needs at least one member (B5)".into(),
            ));
        }
        for (i, m) in members.iter().enumerate() {
            if members[..i].contains(m) {
                return Err(r.fail(vt, &members_key, format!("lists member {m} twice (B5)")));
            }
            if let Some(other) = owner.get(m) {
                return Err(r.fail(
                    vt,
                    &members_key,
                    format!("lists member {m}, already a member of group '{other}'"),
                ));
            }
        }
        for m in &members {
            owner.insert(m.clone(), label.to_string());
        }
        let group = GroupConfig {
            label: label.to_string(),
            members,
            standby: BTreeSet::new(),
        };
        if let Some(sn) = r.value(vt, &sn_key)
            && sn != group.serial()
        {
            return Err(r.fail(
                vt,
                &sn_key,
                format!(
                    "does not match the group's first member: expected {} (B2)",
                    group.serial()
                ),
            ));
        }
        groups.push(group);
        label_keys.push(label_key);
    }
    Ok(groups)
}

/// What the configuration wants of one key.
enum Want {
    /// This value (compared by meaning); when absent and equal to `default`, nothing is written.
    Value {
        text: String,
        default: Option<String>,
    },
    /// No value (absent, or present and meaning nothing).
    Absent,
}

fn value(text: impl Into<String>, default: Option<&str>) -> Want {
    Want::Value {
        text: text.into(),
        default: default.map(str::to_string),
    }
}

/// Canonical meaning of a value text, per key kind, to compare without regard to spelling.
#[derive(Clone, Copy)]
enum Kind {
    /// Compared exactly (after trimming).
    Text,
    /// An integer.
    Number,
    /// Compared ASCII case-insensitively.
    Word,
    /// A comma-separated list, order kept.
    List,
    /// A comma-separated list, order ignored.
    Set,
}

fn canon(kind: Kind, v: &str) -> Option<String> {
    let v = v.trim();
    match kind {
        Kind::Text => Some(v.to_string()),
        Kind::Number => v.parse::<i128>().ok().map(|n| n.to_string()),
        Kind::Word => Some(v.to_ascii_lowercase()),
        Kind::List => parse_list(v).map(|l| l.join(",")),
        Kind::Set => parse_list(v).map(|l| {
            let set: BTreeSet<String> = l.into_iter().collect();
            set.into_iter().collect::<Vec<_>>().join(",")
        }),
    }
}

struct Writer<'a> {
    doc: &'a mut Document,
}

impl Writer<'_> {
    fn unwritable(&self, section: &str, key: &str, reason: WriteError) -> ConfError {
        ConfError::Unwritable {
            origin: self.doc.origin().to_string(),
            section: section.to_string(),
            key: key.to_string(),
            reason,
        }
    }

    fn apply(&mut self, section: &str, key: &str, kind: Kind, want: Want) -> Result<(), ConfError> {
        let current = self.doc.value(section, key);
        match want {
            Want::Absent => {
                if current.is_some_and(|v| !v.trim().is_empty()) {
                    self.doc.remove(section, key);
                }
                Ok(())
            }
            Want::Value { text, default } => {
                let same = match current {
                    Some(v) => canon(kind, v).is_some_and(|c| Some(c) == canon(kind, &text)),
                    None => default
                        .as_deref()
                        .is_some_and(|d| canon(kind, d) == canon(kind, &text)),
                };
                if same {
                    return Ok(());
                }
                let spaced = current.and_then(list_style);
                let text = match kind {
                    Kind::List | Kind::Set => {
                        let spaced = match spaced {
                            Some(spaced) => spaced,
                            None => document_list_style(self.doc),
                        };
                        if spaced {
                            text.replace(',', ", ")
                        } else {
                            text
                        }
                    }
                    _ => text,
                };
                self.doc
                    .set(section, key, &text)
                    .map_err(|e| self.unwritable(section, key, e))
            }
        }
    }
}

/// Whether a members list is written with `, ` (true) or `,` (false), when it has a comma.
fn list_style(value: &str) -> Option<bool> {
    value.contains(',').then(|| value.contains(", "))
}

/// The members-list style of the file: that of its first list with two members; `, ` when it
/// has none (D23: a file LunaCM writes from nothing follows the seed's example).
fn document_list_style(doc: &Document) -> bool {
    let lists = doc
        .entries_of(SECTION_VIRTUAL_TOKEN)
        .filter(|e| e.key().ends_with("Members"))
        .chain(
            doc.entries_of(SECTION_HA_CONFIGURATION)
                .filter(|e| e.key().ends_with(KEY_STANDBY_SUFFIX)),
        );
    lists
        .filter_map(|e| list_style(e.value()))
        .next()
        .unwrap_or(true)
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// The `NN` of each configured group: the one its label already has in the file, a new number
/// after the highest in use for a new group; if that would not keep the configuration's order
/// (groups are read back in `NN` order), the file's numbers in ascending order are reused by
/// position instead, then new ones.
fn assign_numbers(
    groups: &[GroupConfig],
    existing: &[(String, String)],
    highest: Option<u64>,
) -> Vec<String> {
    let number = |nn: &str| nn.parse::<u64>().unwrap_or(u64::MAX);
    let mut next = highest.map_or(0, |h| h.saturating_add(1));
    let mut fresh = || {
        let nn = format!("{next:02}");
        next = next.saturating_add(1);
        nn
    };
    let mut by_label: Vec<String> = Vec::new();
    for g in groups {
        let found = existing
            .iter()
            .find(|(nn, label)| label.eq_ignore_ascii_case(&g.label) && !by_label.contains(nn));
        by_label.push(match found {
            Some((nn, _)) => nn.clone(),
            None => fresh(),
        });
    }
    if by_label.windows(2).all(|w| number(&w[0]) < number(&w[1])) {
        return by_label;
    }
    let mut sorted: Vec<&String> = existing.iter().map(|(nn, _)| nn).collect();
    sorted.sort_by_key(|nn| (number(nn), nn.to_string()));
    let mut positional: Vec<String> = sorted.into_iter().take(groups.len()).cloned().collect();
    while positional.len() < groups.len() {
        positional.push(fresh());
    }
    positional
}

/// Writes `cfg` and `log` into `doc`, changing only keys whose meaning differs: a key that
/// already means the configured value stays byte-identical, a default that is absent stays
/// absent, a new key is appended to its section (or a new section at the end) in the file's
/// style, and settings that are no longer configured (a group gone, no standby members, no
/// `ProbeTimeout`, no log path) are removed. Groups keep their `NN` by label; a new group gets
/// the number after the highest in use. On error the document may be partly updated; write
/// into a copy to keep the original.
pub fn write_config(
    doc: &mut Document,
    cfg: &ClientConfig,
    log: &HaLogSettings,
) -> Result<(), ConfError> {
    let mut w = Writer { doc };
    let vt = SECTION_VIRTUAL_TOKEN;
    let hc = SECTION_HA_CONFIGURATION;

    // Groups by label: existing NN, then new numbers after the highest.
    let mut existing: Vec<(String, String)> = Vec::new(); // (NN, label)
    let mut highest: Option<u64> = None;
    for e in w.doc.entries_of(vt) {
        if let Some((nn, what)) = split_group_key(e.key()) {
            let n = nn.parse::<u64>().unwrap_or(u64::MAX);
            highest = Some(highest.map_or(n, |h| h.max(n)));
            if what == "Label" && !existing.iter().any(|(x, _)| x == nn) {
                existing.push((nn.to_string(), e.value().trim().to_string()));
            }
        }
    }
    let assigned = assign_numbers(&cfg.groups, &existing, highest);
    for (g, nn) in cfg.groups.iter().zip(&assigned) {
        w.apply(
            vt,
            &group_key(nn, "Label"),
            Kind::Text,
            value(&g.label, None),
        )?;
        w.apply(
            vt,
            &group_key(nn, "SN"),
            Kind::Text,
            value(g.serial(), None),
        )?;
        w.apply(
            vt,
            &group_key(nn, "Members"),
            Kind::List,
            value(g.members.join(","), None),
        )?;
    }
    let used = assigned;
    // Groups no longer configured: their keys and their standby list go.
    for (nn, label) in &existing {
        if used.contains(nn) {
            continue;
        }
        for what in ["Label", "SN", "Members"] {
            while w.doc.remove(vt, &group_key(nn, what)) {}
        }
        if cfg.group(label).is_none() {
            w.doc.remove(hc, &format!("{label}{KEY_STANDBY_SUFFIX}"));
        }
    }
    w.apply(
        vt,
        KEY_ACTIVE_RECOVERY,
        Kind::Word,
        value(cfg.mode.as_str(), Some(RecoveryMode::ActiveBasic.as_str())),
    )?;

    // HASynchronize (D21): every label the configuration names, 1 or 0; labels it no longer
    // names (a deleted group) go.
    for (label, on) in &cfg.synchronize {
        w.apply(
            SECTION_HA_SYNCHRONIZE,
            label,
            Kind::Number,
            value(flag(*on), None),
        )?;
    }
    let stale: Vec<String> = w
        .doc
        .entries_of(SECTION_HA_SYNCHRONIZE)
        .filter(|e| {
            !cfg.synchronize
                .keys()
                .any(|l| l.eq_ignore_ascii_case(e.key()))
        })
        .map(|e| e.key().to_string())
        .collect();
    for key in stale {
        while w.doc.remove(SECTION_HA_SYNCHRONIZE, &key) {}
    }

    w.apply(
        hc,
        KEY_HA_ONLY,
        Kind::Number,
        value(flag(cfg.ha_only), Some("0")),
    )?;
    let path = match log.path.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => value(p, None),
        None => Want::Absent,
    };
    // D23: a path newly configured brings `haLogStatus` with it, as in the seed's example.
    let path_set = log
        .path
        .as_deref()
        .is_some_and(|p| !p.is_empty() && w.doc.value(hc, KEY_LOG_PATH).map(str::trim) != Some(p));
    w.apply(hc, KEY_LOG_PATH, Kind::Text, path)?;
    let status = if log.enabled { "enabled" } else { "disabled" };
    let status_default = (!path_set).then_some("enabled");
    w.apply(
        hc,
        KEY_LOG_STATUS,
        Kind::Word,
        value(status, status_default),
    )?;
    w.apply(
        hc,
        KEY_LOG_LEN,
        Kind::Number,
        value(log.max_len.to_string(), Some(&DEFAULT_MAX_LEN.to_string())),
    )?;
    w.apply(
        hc,
        KEY_RETRY,
        Kind::Number,
        value(cfg.retry.as_count().to_string(), Some("0")),
    )?;
    w.apply(
        hc,
        KEY_INTERVAL,
        Kind::Number,
        value(cfg.interval_s.to_string(), Some("60")),
    )?;
    for g in &cfg.groups {
        let key = format!("{}{KEY_STANDBY_SUFFIX}", g.label);
        let want = if g.standby.is_empty() {
            Want::Absent
        } else {
            let in_order: Vec<&str> = g
                .members
                .iter()
                .filter(|m| g.standby.contains(*m))
                .chain(g.standby.iter().filter(|s| !g.members.contains(s)))
                .map(String::as_str)
                .collect();
            value(in_order.join(","), None)
        };
        w.apply(hc, &key, Kind::Set, want)?;
    }
    w.apply(
        hc,
        KEY_FAILOVER_ON_DEACTIVATION,
        Kind::Number,
        value(flag(cfg.failover_on_deactivation), Some("0")),
    )?;

    // HARecovery: configured counters; others go.
    for (label, n) in &cfg.legacy_recovery {
        w.apply(
            SECTION_HA_RECOVERY,
            label,
            Kind::Number,
            value(n.to_string(), None),
        )?;
    }
    let gone: Vec<String> = w
        .doc
        .entries_of(SECTION_HA_RECOVERY)
        .filter(|e| {
            !cfg.legacy_recovery
                .keys()
                .any(|l| l.eq_ignore_ascii_case(e.key()))
        })
        .map(|e| e.key().to_string())
        .collect();
    for key in gone {
        w.doc.remove(SECTION_HA_RECOVERY, &key);
    }

    w.apply(
        SECTION_TOGGLES,
        KEY_CLOUD_HA_UI,
        Kind::Number,
        value(flag(cfg.cloud_members_standby), Some("1")),
    )?;
    let lc = SECTION_LUNASA_CLIENT;
    w.apply(
        lc,
        KEY_RECEIVE_TIMEOUT,
        Kind::Number,
        value(cfg.receive_timeout_ms.to_string(), Some("20000")),
    )?;
    let probe = match cfg.probe_timeout_ms {
        Some(ms) => value(ms.to_string(), None),
        None => Want::Absent,
    };
    w.apply(lc, KEY_PROBE_TIMEOUT, Kind::Number, probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chrystoki::document::Format;

    const REALISTIC: &str = "\
// Chrystoki.conf written by the Luna client installer, then edited by hand
Chrystoki2 = {
   LibUNIX = /usr/safenet/lunaclient/lib/libCryptoki2.so;
   LibUNIX64 = /usr/safenet/lunaclient/lib/libCryptoki2_64.so;
}

LunaSA Client = {
   ReceiveTimeout = 20000;
   ServerHtl00 = ;
   ServerName00 = 'hsm1.example.com';
}

VirtualToken = {
   VirtualToken00Label = haGroup1;
   VirtualToken00SN = 11234840370164;
   VirtualToken00Members = 1234840370164, 1234924189183;
   VirtualTokenActiveRecovery = activeEnhanced;
}

HAConfiguration = {
   HAOnly = 1;
   reconnAtt = 3;
   AutoReconnectInterval = 120;
   haLogStatus = enabled;
   haLogPath = /ha-logs;
   logLen = 100000000;
   haGroup1StandbyMembers = 1234924189183;
   haLogToStdout = enabled; // kept, not used by hasim
}

HASynchronize = {
   haGroup1 = 1;
}

HARecovery = {
   haGroup1 = 4;
}

Misc = {
   PE1746Enabled = 0;
}
";

    fn doc(text: &str) -> Document {
        Document::parse(text, "Chrystoki.conf").unwrap()
    }

    fn read_err(text: &str) -> String {
        read_config(&doc(text)).unwrap_err().to_string()
    }

    #[test]
    fn realistic_file_is_read_exactly() {
        let (cfg, log) = read_config(&doc(REALISTIC)).unwrap();
        assert_eq!(
            cfg.groups,
            vec![GroupConfig {
                label: "haGroup1".into(),
                members: vec!["1234840370164".into(), "1234924189183".into()],
                standby: BTreeSet::from(["1234924189183".to_string()]),
            }]
        );
        assert_eq!(cfg.retry, RetryLimit::Bounded(3));
        assert_eq!(cfg.interval_s, 120);
        assert_eq!(cfg.mode, RecoveryMode::ActiveEnhanced);
        assert!(cfg.ha_only);
        assert_eq!(
            cfg.synchronize,
            BTreeMap::from([("haGroup1".to_string(), true)])
        );
        assert!(cfg.cloud_members_standby);
        assert!(!cfg.failover_on_deactivation);
        assert_eq!(cfg.receive_timeout_ms, 20_000);
        assert_eq!(cfg.probe_timeout_ms, None);
        assert_eq!(
            cfg.legacy_recovery,
            BTreeMap::from([("haGroup1".to_string(), 4)])
        );
        assert_eq!(
            log,
            HaLogSettings {
                enabled: true,
                path: Some("/ha-logs".into()),
                max_len: 100_000_000
            }
        );
    }

    #[test]
    fn non_ascii_keys_are_unknown_keys_not_a_panic() {
        for key in [
            "VirtualTokeé",
            "VirtualToké",
            "é",
            "VirtualTokenéLabel",
            "VirtualToken00Labelé",
        ] {
            let text = format!("VirtualToken = {{\n   {key} = 1;\n}}\n");
            let (cfg, _) = read_config(&doc(&text)).unwrap();
            assert_eq!(cfg, ClientConfig::default(), "{key}");
        }
        let ini = Document::parse("[VirtualToken]\nVirtualTokeé=1\n", "crystoki.ini").unwrap();
        assert_eq!(read_config(&ini).unwrap().0, ClientConfig::default());
    }

    #[test]
    fn the_replication_floor_is_read_per_group_and_checked() {
        let text = "HasimMinCopies = {\n   haGroup1 = 2;\n}\n";
        let (cfg, _) = read_config(&doc(text)).unwrap();
        assert_eq!(cfg.min_copies("HAGROUP1"), Some(2));
        assert_eq!(cfg.min_copies("other"), None);
        let mut d = doc(text);
        write_config(&mut d, &cfg, &HaLogSettings::default()).unwrap();
        assert!(
            d.to_text().contains("haGroup1 = 2;"),
            "kept when written back"
        );
        for bad in ["0", "33", "two", "-1"] {
            let text = format!("HasimMinCopies = {{\n   haGroup1 = {bad};\n}}\n");
            let e = read_err(&text);
            assert!(
                e.contains("out of range: allowed 1..32 copies (B6, D36)"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn absent_keys_take_d1_defaults() {
        let (cfg, log) = read_config(&doc("Misc = {\n}\n")).unwrap();
        assert_eq!(cfg, ClientConfig::default());
        assert_eq!(log, HaLogSettings::default());
        assert_eq!(cfg.retry, RetryLimit::Disabled);
        assert_eq!(cfg.interval_s, 60);
        assert_eq!(log.max_len, 262_144);
    }

    #[test]
    fn writing_what_was_read_changes_nothing() {
        let mut d = doc(REALISTIC);
        let (cfg, log) = read_config(&d).unwrap();
        write_config(&mut d, &cfg, &log).unwrap();
        assert_eq!(d.to_text(), REALISTIC);
    }

    #[test]
    fn out_of_range_values_name_place_and_rule() {
        let retry = REALISTIC.replace("reconnAtt = 3;", "reconnAtt = 501;");
        assert_eq!(
            read_err(&retry),
            "Chrystoki.conf:22:16: [HAConfiguration] reconnAtt = 501 is out of range: allowed 0 (disable), -1 (unlimited) or 1..500 (B39)"
        );
        let interval = REALISTIC.replace("= 120;", "= 30;");
        assert_eq!(
            read_err(&interval),
            "Chrystoki.conf:23:28: [HAConfiguration] AutoReconnectInterval = 30 is out of range: allowed 60..1200 seconds (B39, D2)"
        );
        let mode = REALISTIC.replace("= activeEnhanced;", "= activeTurbo;");
        assert_eq!(
            read_err(&mode),
            "Chrystoki.conf:17:33: [VirtualToken] VirtualTokenActiveRecovery = activeTurbo is not a recovery mode: expected activeBasic or activeEnhanced (B39, B42)"
        );
        let ha_only = REALISTIC.replace("HAOnly = 1;", "HAOnly = ;");
        assert_eq!(
            read_err(&ha_only),
            "Chrystoki.conf:21:13: [HAConfiguration] HAOnly = (empty) is not 0 or 1 (B57)"
        );
        let status = REALISTIC.replace("haLogStatus = enabled;", "haLogStatus = 'on';");
        assert_eq!(
            read_err(&status),
            "Chrystoki.conf:24:18: [HAConfiguration] haLogStatus = 'on' is not enabled or disabled (B65)"
        );
        let sync = REALISTIC.replace("   haGroup1 = 1;", "   haGroup1 = yes;");
        assert_eq!(
            read_err(&sync),
            "Chrystoki.conf:32:15: [HASynchronize] haGroup1 = yes is not 1 (on) or 0 (off) (B60)"
        );
        let counter = REALISTIC.replace("haGroup1 = 4;", "haGroup1 = -4;");
        assert_eq!(
            read_err(&counter),
            "Chrystoki.conf:36:15: [HARecovery] haGroup1 = -4 is not a recovery counter: a whole number 0 or more (B45)"
        );
        let timeout = REALISTIC.replace("ReceiveTimeout = 20000;", "ReceiveTimeout = 0;");
        assert_eq!(
            read_err(&timeout),
            "Chrystoki.conf:8:21: [LunaSA Client] ReceiveTimeout = 0 is not a positive number of milliseconds (B28)"
        );
    }

    #[test]
    fn group_errors_name_the_rule() {
        let sn = REALISTIC.replace("SN = 11234840370164;", "SN = 1999;");
        assert_eq!(
            read_err(&sn),
            "Chrystoki.conf:15:23: [VirtualToken] VirtualToken00SN = 1999 does not match the group's first member: expected 11234840370164 (B2)"
        );
        let no_members = REALISTIC.replace(
            "   VirtualToken00Members = 1234840370164, 1234924189183;\n",
            "",
        );
        assert_eq!(
            read_err(&no_members),
            "Chrystoki.conf:14:26: [VirtualToken] VirtualToken00Label = haGroup1 has no VirtualToken00Members: a group needs at least one member (B5)"
        );
        let twice = REALISTIC.replace("1234840370164, 1234924189183;", "1234840370164,,1;");
        assert_eq!(
            read_err(&twice),
            "Chrystoki.conf:16:28: [VirtualToken] VirtualToken00Members = 1234840370164,,1 has an empty member serial (B5)"
        );
        let standby = REALISTIC.replace("StandbyMembers = 1234924189183;", "StandbyMembers = 77;");
        assert_eq!(
            read_err(&standby),
            "Chrystoki.conf:27:29: [HAConfiguration] haGroup1StandbyMembers = 77 lists 77, which is not a member of group 'haGroup1' (B38)"
        );
        let reserved = REALISTIC
            .replace("Label = haGroup1;", "Label = ha;")
            .replace("haGroup1StandbyMembers", "haStandbyMembers");
        assert_eq!(
            read_err(&reserved),
            "Chrystoki.conf:14:26: [VirtualToken] VirtualToken00Label = ha is reserved: a group cannot be called HA (B3)"
        );
        let orphan = "VirtualToken = {\n   VirtualToken01Members = 5;\n}\n";
        assert_eq!(
            read_err(orphan),
            "Chrystoki.conf:2:28: [VirtualToken] VirtualToken01Members = 5 has no VirtualToken01Label (B5)"
        );
        let shared = "VirtualToken = {\n   VirtualToken00Label = a;\n   VirtualToken00Members = 5;\n   VirtualToken01Label = b;\n   VirtualToken01Members = 6,5;\n}\n";
        assert_eq!(
            read_err(shared),
            "Chrystoki.conf:5:28: [VirtualToken] VirtualToken01Members = 6,5 lists member 5, already a member of group 'a'"
        );
    }

    #[test]
    fn groups_are_ordered_by_nn() {
        let text = "VirtualToken = {\n   VirtualToken02Label = b;\n   VirtualToken02Members = 6;\n   VirtualToken00Label = a;\n   VirtualToken00Members = 5;\n}\n";
        let (cfg, _) = read_config(&doc(text)).unwrap();
        let labels: Vec<&str> = cfg.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["a", "b"]);
        let mut d = doc(text);
        write_config(&mut d, &cfg, &HaLogSettings::default()).unwrap();
        // Only the missing SN keys are added; NN 02 stays 02.
        assert_eq!(
            d.to_text(),
            "VirtualToken = {\n   VirtualToken02Label = b;\n   VirtualToken02Members = 6;\n   VirtualToken00Label = a;\n   VirtualToken00Members = 5;\n   VirtualToken00SN = 15;\n   VirtualToken02SN = 16;\n}\n"
        );
    }

    #[test]
    fn a_new_group_order_renumbers_by_position() {
        let text = "VirtualToken = {\n   VirtualToken00Label = a;\n   VirtualToken00SN = 15;\n   VirtualToken00Members = 5;\n   VirtualToken01Label = b;\n   VirtualToken01SN = 16;\n   VirtualToken01Members = 6;\n}\n";
        let mut d = doc(text);
        let (mut cfg, log) = read_config(&d).unwrap();
        cfg.groups.reverse();
        write_config(&mut d, &cfg, &log).unwrap();
        assert_eq!(
            d.to_text(),
            "VirtualToken = {\n   VirtualToken00Label = b;\n   VirtualToken00SN = 16;\n   VirtualToken00Members = 6;\n   VirtualToken01Label = a;\n   VirtualToken01SN = 15;\n   VirtualToken01Members = 5;\n}\n"
        );
        assert_eq!(read_config(&d).unwrap().0, cfg);
    }

    #[test]
    fn write_changes_only_what_differs() {
        let mut d = doc(REALISTIC);
        let (mut cfg, mut log) = read_config(&d).unwrap();
        cfg.retry = RetryLimit::Unlimited;
        cfg.groups[0].members.push("555".into());
        cfg.groups[0].standby.clear();
        cfg.synchronize.insert("haGroup1".into(), false);
        cfg.probe_timeout_ms = Some(5000);
        log.path = None;
        write_config(&mut d, &cfg, &log).unwrap();
        let expected = REALISTIC
            .replace("reconnAtt = 3;", "reconnAtt = -1;")
            .replace(
                "1234840370164, 1234924189183;",
                "1234840370164, 1234924189183, 555;",
            )
            .replace("   haGroup1StandbyMembers = 1234924189183;\n", "")
            .replace("   haGroup1 = 1;", "   haGroup1 = 0;")
            .replace("   haLogPath = /ha-logs;\n", "")
            .replace(
                "   ServerName00 = 'hsm1.example.com';\n",
                "   ServerName00 = 'hsm1.example.com';\n   ProbeTimeout = 5000;\n",
            );
        assert_eq!(d.to_text(), expected);
        let (again, log_again) = read_config(&d).unwrap();
        assert_eq!((again, log_again), (cfg, log));
    }

    #[test]
    fn meaning_not_spelling_decides() {
        let text = "HAConfiguration = {\n   reconnAtt = '03';\n   haLogStatus = ENABLED;\n}\nVirtualToken = {\n   VirtualToken00Label = g;\n   VirtualToken00SN = 15;\n   VirtualToken00Members = 5 , 6;\n   VirtualTokenActiveRecovery = ACTIVEBASIC;\n}\n";
        let mut d = doc(text);
        let (cfg, log) = read_config(&d).unwrap();
        assert_eq!(cfg.retry, RetryLimit::Bounded(3));
        write_config(&mut d, &cfg, &log).unwrap();
        assert_eq!(d.to_text(), text);
    }

    #[test]
    fn new_groups_and_removed_groups() {
        let mut d = doc(REALISTIC);
        let (mut cfg, log) = read_config(&d).unwrap();
        cfg.groups.push(GroupConfig {
            label: "g2".into(),
            members: vec!["7".into(), "8".into()],
            standby: BTreeSet::from(["8".to_string()]),
        });
        write_config(&mut d, &cfg, &log).unwrap();
        let text = d.to_text();
        assert!(text.contains(
            "   VirtualTokenActiveRecovery = activeEnhanced;\n   VirtualToken01Label = g2;\n   VirtualToken01SN = 17;\n   VirtualToken01Members = 7, 8;\n}"
        ));
        assert!(
            text.contains("   haLogToStdout = enabled; // kept, not used by hasim\n   g2StandbyMembers = 8;\n}"),
            "{text}"
        );
        cfg.groups.remove(0);
        write_config(&mut d, &cfg, &log).unwrap();
        let text = d.to_text();
        assert!(!text.contains("VirtualToken00"), "{text}");
        assert!(!text.contains("haGroup1StandbyMembers"), "{text}");
        assert!(text.contains("VirtualToken01Label = g2;"));
        let (back, _) = read_config(&d).unwrap();
        assert_eq!(back.groups, cfg.groups);
    }

    #[test]
    fn defaults_into_an_empty_document_write_nothing() {
        let mut d = Document::empty(Format::Conf, "Chrystoki.conf");
        write_config(&mut d, &ClientConfig::default(), &HaLogSettings::default()).unwrap();
        assert_eq!(d.to_text(), "");
    }

    #[test]
    /// D23: a file written from nothing follows the seed's example (`, ` between members,
    /// `haLogStatus` with the path); a file with its own style keeps it.
    fn configuration_into_an_empty_document() {
        let mut d = Document::empty(Format::Conf, "Chrystoki.conf");
        let cfg = ClientConfig {
            groups: vec![GroupConfig {
                label: "haGroup1".into(),
                members: vec!["1234840370164".into(), "1234924189183".into()],
                standby: BTreeSet::new(),
            }],
            retry: RetryLimit::Bounded(3),
            ..ClientConfig::default()
        };
        let log = HaLogSettings {
            path: Some("/ha-logs".into()),
            ..HaLogSettings::default()
        };
        write_config(&mut d, &cfg, &log).unwrap();
        assert_eq!(
            d.to_text(),
            "VirtualToken = {\n   VirtualToken00Label = haGroup1;\n   VirtualToken00SN = 11234840370164;\n   VirtualToken00Members = 1234840370164, 1234924189183;\n}\n\nHAConfiguration = {\n   haLogPath = /ha-logs;\n   haLogStatus = enabled;\n   reconnAtt = 3;\n}\n"
        );
    }

    #[test]
    fn ini_mapping() {
        let text = "[VirtualToken]\r\nVirtualToken00Label=g\r\nVirtualToken00Members=5\r\n\r\n[HAConfiguration]\r\nreconnAtt=-1\r\n";
        let mut d = Document::parse(text, "crystoki.ini").unwrap();
        let (mut cfg, log) = read_config(&d).unwrap();
        assert_eq!(cfg.retry, RetryLimit::Unlimited);
        assert_eq!(cfg.groups[0].serial(), "15");
        cfg.interval_s = 300;
        write_config(&mut d, &cfg, &log).unwrap();
        assert_eq!(
            d.to_text(),
            "[VirtualToken]\r\nVirtualToken00Label=g\r\nVirtualToken00Members=5\r\nVirtualToken00SN=15\r\n\r\n[HAConfiguration]\r\nreconnAtt=-1\r\nAutoReconnectInterval=300\r\n"
        );
        let bad = Document::parse("[HAConfiguration]\nreconnAtt=501\n", "crystoki.ini").unwrap();
        assert_eq!(
            read_config(&bad).unwrap_err().to_string(),
            "crystoki.ini:2:11: [HAConfiguration] reconnAtt = 501 is out of range: allowed 0 (disable), -1 (unlimited) or 1..500 (B39)"
        );
    }

    #[test]
    fn unwritable_label_is_a_typed_error() {
        let mut d = Document::empty(Format::Conf, "Chrystoki.conf");
        let cfg = ClientConfig {
            groups: vec![GroupConfig {
                label: "a;'b".into(),
                members: vec!["5".into()],
                standby: BTreeSet::new(),
            }],
            ..ClientConfig::default()
        };
        assert_eq!(
            write_config(&mut d, &cfg, &HaLogSettings::default())
                .unwrap_err()
                .to_string(),
            "Chrystoki.conf: cannot write [VirtualToken] VirtualToken00Label: it needs single quotes but contains a single quote"
        );
    }
}
