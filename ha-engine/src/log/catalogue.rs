//! The HA log message catalogue (spec §4): one [`HaLogMessage`] variant per vendor template, the
//! exact text each renders to, and [`CATALOGUE`], the templates verbatim with the rules (B/D ids)
//! that govern them.
//!
//! The vendor typos are kept on purpose (`member member:`, `will be reintroduce`, `can not`). The
//! message text is what follows the B63 prefix and its one separating space (D15); the prefix and
//! the line terminator are the writer's business.

use std::fmt;

use crate::ckr::Ckr;

/// One documented HA log template (spec §4), with the rules that say when it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateEntry {
    /// Stable id: the vendor's `HALOG_*` name, or a hasim name for the vendor's un-named lines.
    pub id: &'static str,
    /// The §4 template verbatim, placeholders (`<MessagePrefix>`, `<SerialNumber>`, ...) and any
    /// literal `\n` included.
    pub template: &'static str,
    /// The spec rules (B and D ids) that govern this line.
    pub rules: &'static [&'static str],
    /// True for templates the vendor documents as deprecated.
    pub deprecated: bool,
}

const CONFIGURED_AS_PASSWORD: TemplateEntry = TemplateEntry {
    id: "HALOG_CONFIGURED_AS_PASSWORD",
    template: r#"<MessagePrefix> configured as a "PASSWORD Based" virtual device"#,
    rules: &["B10"],
    deprecated: false,
};

const CONFIGURED_AS_PED: TemplateEntry = TemplateEntry {
    id: "HALOG_CONFIGURED_AS_PED",
    template: r#"<MessagePrefix> configured as a "PED Based" virtual device"#,
    rules: &["B10"],
    deprecated: false,
};

const DROPMEMBER: TemplateEntry = TemplateEntry {
    id: "HALOG_DROPMEMBER",
    template: "<MessagePrefix> has dropped member: <SerialNumber>",
    rules: &["B29", "D3", "D19"],
    deprecated: false,
};

const DROPUNRECOVERABLE: TemplateEntry = TemplateEntry {
    id: "HALOG_DROPUNRECOVERABLE",
    template: "<MessagePrefix> unable to reach member: <SerialNumber>. Manual Recover or Auto Recovery will be able to recover this member",
    rules: &["B46"],
    deprecated: false,
};

const LOGINFAILED: TemplateEntry = TemplateEntry {
    id: "HALOG_LOGINFAILED",
    template: "<MessagePrefix> can not login to member: <SerialNumber>, autorecovery will be disabled. Code: <ErrorCodeHex> : <ErrorCodeString>",
    rules: &["B49", "D10", "D15"],
    deprecated: false,
};

const MEMBER_DEACTIVATED: TemplateEntry = TemplateEntry {
    id: "HALOG_MEMBER_DEACTIVATED",
    template: "<MessagePrefix> member: <SerialNumber> deactivated",
    rules: &["B33", "B51", "D17"],
    deprecated: false,
};

const MEMBER_NOW_ACTIVATED: TemplateEntry = TemplateEntry {
    id: "HALOG_MEMBER_NOW_ACTIVATED",
    template: "<MessagePrefix> recovery attempt <AttemptNumber> member <SerialNumber> is now activated and will be reintroduce back into the HA group.",
    rules: &["B51", "D17"],
    deprecated: false,
};

const MEMBER_REVOKED: TemplateEntry = TemplateEntry {
    id: "HALOG_MEMBER_REVOKED",
    template: "<MessagePrefix> member: <SerialNumber> revoked",
    rules: &["B52", "D10"],
    deprecated: false,
};

const MEMBERS_OFFLINE: TemplateEntry = TemplateEntry {
    id: "HALOG_MEMBERS_OFFLINE",
    template: "<MessagePrefix> all members gone offline.",
    rules: &["B53", "D4", "D11"],
    deprecated: false,
};

const MGMT_THREAD_START: TemplateEntry = TemplateEntry {
    id: "HALOG_MGMT_THREAD_START",
    template: "<MessagePrefix> management thread started",
    rules: &["B55", "D16"],
    deprecated: false,
};

const MGMT_THREAD_TERMINATE: TemplateEntry = TemplateEntry {
    id: "HALOG_MGMT_THREAD_TERMINATE",
    template: "<MessagePrefix> management thread terminated",
    rules: &["B55", "D16"],
    deprecated: false,
};

const NEWMEMBER: TemplateEntry = TemplateEntry {
    id: "HALOG_NEWMEMBER",
    template: "<MessagePrefix> detected new member member: <SerialNumber>",
    rules: &["B54", "B24"],
    deprecated: false,
};

const RECOVERED: TemplateEntry = TemplateEntry {
    id: "HALOG_RECOVERED",
    template: "<MessagePrefix> recovery attempt <Integer> succeeded for member: <SerialNumber>",
    rules: &["B43", "B44", "D9"],
    deprecated: false,
};

const REINTRODUCING: TemplateEntry = TemplateEntry {
    id: "HALOG_RECOVERY_ATTEMPT_#_REINTRODUCING",
    template: "<MessagePrefix> recovery attempt <AttemptNumber> reintroducing <Number> token objects to recovered token <TokenNumber>",
    rules: &["B20", "B43", "D7", "D9"],
    deprecated: false,
};

const RECOVERYFAILED: TemplateEntry = TemplateEntry {
    id: "HALOG_RECOVERYFAILED",
    template: "<MessagePrefix> recovery attempt <Integer> failed for member: <SerialNumber>. Code: <ErrorCodeHex> : <ErrorCodeString>.",
    rules: &["B44", "D9", "D15"],
    deprecated: false,
};

const RECOVERY_EXHAUSTED: TemplateEntry = TemplateEntry {
    id: "HALOG_RECOVERY_EXHAUSTED",
    template: "<MessagePrefix> exceeded maximum number of autorecovery attempts for member: <SerialNumber>. Autorecovery will be disabled",
    rules: &["B44", "D9"],
    deprecated: false,
};

const RENABLEMEMBER: TemplateEntry = TemplateEntry {
    id: "HALOG_RENABLEMEMBER",
    template: "<MessagePrefix> Re-enable auto recovery process for member: <SerialNumber>",
    rules: &["B45"],
    deprecated: true,
};

const UNRECOVERABLE: TemplateEntry = TemplateEntry {
    id: "HALOG_UNRECOVERABLE",
    template: "<MessagePrefix> recovery attempt <Integer> failed for member: <SerialNumber>. Manual Recover or Auto Recovery will not be able to recover this member. Code: <ErrorCodeHex> : <ErrorCodeString>",
    rules: &["B44", "D15"],
    deprecated: true,
};

const NOT_ACTIVATED_EXCLUDED: TemplateEntry = TemplateEntry {
    id: "HALOG_NOT_ACTIVATED_EXCLUDED",
    template: "<MessagePrefix> member <SerialNumber> is not activated and is excluded from the HA group",
    rules: &["B51"],
    deprecated: false,
};

const RECOVERY_NOT_ACTIVATED: TemplateEntry = TemplateEntry {
    id: "HALOG_RECOVERY_NOT_ACTIVATED",
    template: r"<MessagePrefix> recovery attempt <SerialNumber> is not activated and cannot be reintroduced back into the HA group\n",
    rules: &["B51", "D15"],
    deprecated: false,
};

const RECOVERY_NOW_ACTIVATED: TemplateEntry = TemplateEntry {
    id: "HALOG_RECOVERY_NOW_ACTIVATED",
    template: r"<MessagePrefix> recovery attempt <SerialNumber> is now activated and will be reintroduce back into the HA group.\n",
    rules: &["B51", "D15"],
    deprecated: false,
};

/// Every §4 template, in the spec's table order (21 entries).
pub const CATALOGUE: &[TemplateEntry] = &[
    CONFIGURED_AS_PASSWORD,
    CONFIGURED_AS_PED,
    DROPMEMBER,
    DROPUNRECOVERABLE,
    LOGINFAILED,
    MEMBER_DEACTIVATED,
    MEMBER_NOW_ACTIVATED,
    MEMBER_REVOKED,
    MEMBERS_OFFLINE,
    MGMT_THREAD_START,
    MGMT_THREAD_TERMINATE,
    NEWMEMBER,
    RECOVERED,
    REINTRODUCING,
    RECOVERYFAILED,
    RECOVERY_EXHAUSTED,
    RENABLEMEMBER,
    UNRECOVERABLE,
    NOT_ACTIVATED_EXCLUDED,
    RECOVERY_NOT_ACTIVATED,
    RECOVERY_NOW_ACTIVATED,
];

/// Looks a template up by its id (`"HALOG_DROPMEMBER"`, ...).
pub fn template_by_id(id: &str) -> Option<&'static TemplateEntry> {
    CATALOGUE.iter().find(|entry| entry.id == id)
}

/// One HA log message: a §4 template with its fields. [`HaLogMessage::render`] gives the text
/// after the prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HaLogMessage {
    /// `HALOG_CONFIGURED_AS_PASSWORD`: the first login made the group password based (B10).
    ConfiguredAsPassword,
    /// `HALOG_CONFIGURED_AS_PED`: the first login made the group PED based (B10).
    ConfiguredAsPed,
    /// `HALOG_DROPMEMBER`: a member was dropped after a failed call (B29, D3, D19).
    DropMember {
        /// Serial of the dropped member.
        serial: String,
    },
    /// `HALOG_DROPUNRECOVERABLE`: a member was unreachable at `C_Initialize` (B46).
    DropUnrecoverable {
        /// Serial of the unreachable member.
        serial: String,
    },
    /// `HALOG_LOGINFAILED`: re-login failed; auto-recovery is off for the member (B49, D10).
    LoginFailed {
        /// Serial of the member.
        serial: String,
        /// What `C_Login` returned.
        code: Ckr,
    },
    /// `HALOG_MEMBER_DEACTIVATED`: the member's partition lost its activation (B51, D17).
    MemberDeactivated {
        /// Serial of the member.
        serial: String,
    },
    /// `HALOG_MEMBER_NOW_ACTIVATED`: a recovery attempt found the member activated again (B51).
    MemberNowActivated {
        /// Recovery attempt number (from 1 per outage).
        attempt: u32,
        /// Serial of the member.
        serial: String,
    },
    /// `HALOG_MEMBER_REVOKED`: a recovery attempt found the member revoked (B52, D10).
    MemberRevoked {
        /// Serial of the member.
        serial: String,
    },
    /// `HALOG_MEMBERS_OFFLINE`: no usable member is left (B53, D4).
    MembersOffline,
    /// `HALOG_MGMT_THREAD_START`: the engine was initialised with a log path set (B55, D16).
    MgmtThreadStart,
    /// `HALOG_MGMT_THREAD_TERMINATE`: the engine was finalised (B55, D16).
    MgmtThreadTerminate,
    /// `HALOG_NEWMEMBER`: a recovery pass picked up a member added at run time (B54).
    NewMember {
        /// Serial of the new member.
        serial: String,
    },
    /// `HALOG_RECOVERED`: a recovery attempt succeeded (B43, D9).
    Recovered {
        /// Recovery attempt number (from 1 per outage).
        attempt: u32,
        /// Serial of the member.
        serial: String,
    },
    /// `HALOG_RECOVERY_ATTEMPT_#_REINTRODUCING`: token objects the member missed are being
    /// cloned to it (B20, B43, D7).
    Reintroducing {
        /// Recovery attempt number (from 1 per outage).
        attempt: u32,
        /// Number of token objects reintroduced.
        count: u64,
        /// The template's `<TokenNumber>` (hasim: the member serial, spec §4 L note).
        token: String,
    },
    /// `HALOG_RECOVERYFAILED`: a recovery attempt failed (B44, D9).
    RecoveryFailed {
        /// Recovery attempt number (from 1 per outage).
        attempt: u32,
        /// Serial of the member.
        serial: String,
        /// Why the attempt failed.
        code: Ckr,
    },
    /// The un-named second line on exhaustion: `exceeded maximum number of autorecovery
    /// attempts ...` (B44, D9). Id `HALOG_RECOVERY_EXHAUSTED` (hasim's).
    RecoveryExhausted {
        /// Serial of the member.
        serial: String,
    },
    /// `HALOG_RENABLEMEMBER` (deprecated by the vendor): auto recovery re-enabled for a member.
    RenableMember {
        /// Serial of the member.
        serial: String,
    },
    /// `HALOG_UNRECOVERABLE` (deprecated by the vendor): a recovery attempt failed for good.
    Unrecoverable {
        /// Recovery attempt number.
        attempt: u32,
        /// Serial of the member.
        serial: String,
        /// Why the attempt failed.
        code: Ckr,
    },
    /// Un-named: a member not activated at `C_Initialize` is excluded (B51). Id
    /// `HALOG_NOT_ACTIVATED_EXCLUDED` (hasim's).
    NotActivatedExcluded {
        /// Serial of the member.
        serial: String,
    },
    /// Un-named: a recovery attempt found the member still not activated (B51). The vendor puts
    /// the serial where an attempt number would be. Id `HALOG_RECOVERY_NOT_ACTIVATED` (hasim's).
    RecoveryNotActivated {
        /// Serial of the member.
        serial: String,
    },
    /// Un-named: a recovery attempt found the member activated again (B51). The vendor puts the
    /// serial where an attempt number would be. Id `HALOG_RECOVERY_NOW_ACTIVATED` (hasim's).
    RecoveryNowActivated {
        /// Serial of the member.
        serial: String,
    },
}

impl HaLogMessage {
    /// The catalogue entry this message is written from.
    pub fn template(&self) -> &'static TemplateEntry {
        match self {
            HaLogMessage::ConfiguredAsPassword => &CONFIGURED_AS_PASSWORD,
            HaLogMessage::ConfiguredAsPed => &CONFIGURED_AS_PED,
            HaLogMessage::DropMember { .. } => &DROPMEMBER,
            HaLogMessage::DropUnrecoverable { .. } => &DROPUNRECOVERABLE,
            HaLogMessage::LoginFailed { .. } => &LOGINFAILED,
            HaLogMessage::MemberDeactivated { .. } => &MEMBER_DEACTIVATED,
            HaLogMessage::MemberNowActivated { .. } => &MEMBER_NOW_ACTIVATED,
            HaLogMessage::MemberRevoked { .. } => &MEMBER_REVOKED,
            HaLogMessage::MembersOffline => &MEMBERS_OFFLINE,
            HaLogMessage::MgmtThreadStart => &MGMT_THREAD_START,
            HaLogMessage::MgmtThreadTerminate => &MGMT_THREAD_TERMINATE,
            HaLogMessage::NewMember { .. } => &NEWMEMBER,
            HaLogMessage::Recovered { .. } => &RECOVERED,
            HaLogMessage::Reintroducing { .. } => &REINTRODUCING,
            HaLogMessage::RecoveryFailed { .. } => &RECOVERYFAILED,
            HaLogMessage::RecoveryExhausted { .. } => &RECOVERY_EXHAUSTED,
            HaLogMessage::RenableMember { .. } => &RENABLEMEMBER,
            HaLogMessage::Unrecoverable { .. } => &UNRECOVERABLE,
            HaLogMessage::NotActivatedExcluded { .. } => &NOT_ACTIVATED_EXCLUDED,
            HaLogMessage::RecoveryNotActivated { .. } => &RECOVERY_NOT_ACTIVATED,
            HaLogMessage::RecoveryNowActivated { .. } => &RECOVERY_NOW_ACTIVATED,
        }
    }

    /// The template id, e.g. `"HALOG_DROPMEMBER"`.
    pub fn id(&self) -> &'static str {
        self.template().id
    }

    /// The message text after the prefix: no leading space, no trailing newline. Error codes
    /// render per D15 (`0x30 : CKR_DEVICE_ERROR`). The literal `\n` ending two un-named templates
    /// is not rendered: the writer's line terminator stands for it (spec §4 L note).
    pub fn render(&self) -> String {
        match self {
            HaLogMessage::ConfiguredAsPassword => {
                r#"configured as a "PASSWORD Based" virtual device"#.to_string()
            }
            HaLogMessage::ConfiguredAsPed => {
                r#"configured as a "PED Based" virtual device"#.to_string()
            }
            HaLogMessage::DropMember { serial } => format!("has dropped member: {serial}"),
            HaLogMessage::DropUnrecoverable { serial } => format!(
                "unable to reach member: {serial}. Manual Recover or Auto Recovery will be able \
                 to recover this member"
            ),
            HaLogMessage::LoginFailed { serial, code } => format!(
                "can not login to member: {serial}, autorecovery will be disabled. Code: {}",
                code.log_code()
            ),
            HaLogMessage::MemberDeactivated { serial } => format!("member: {serial} deactivated"),
            HaLogMessage::MemberNowActivated { attempt, serial } => format!(
                "recovery attempt {attempt} member {serial} is now activated and will be \
                 reintroduce back into the HA group."
            ),
            HaLogMessage::MemberRevoked { serial } => format!("member: {serial} revoked"),
            HaLogMessage::MembersOffline => "all members gone offline.".to_string(),
            HaLogMessage::MgmtThreadStart => "management thread started".to_string(),
            HaLogMessage::MgmtThreadTerminate => "management thread terminated".to_string(),
            HaLogMessage::NewMember { serial } => format!("detected new member member: {serial}"),
            HaLogMessage::Recovered { attempt, serial } => {
                format!("recovery attempt {attempt} succeeded for member: {serial}")
            }
            HaLogMessage::Reintroducing {
                attempt,
                count,
                token,
            } => format!(
                "recovery attempt {attempt} reintroducing {count} token objects to recovered \
                 token {token}"
            ),
            HaLogMessage::RecoveryFailed {
                attempt,
                serial,
                code,
            } => format!(
                "recovery attempt {attempt} failed for member: {serial}. Code: {}.",
                code.log_code()
            ),
            HaLogMessage::RecoveryExhausted { serial } => format!(
                "exceeded maximum number of autorecovery attempts for member: {serial}. \
                 Autorecovery will be disabled"
            ),
            HaLogMessage::RenableMember { serial } => {
                format!("Re-enable auto recovery process for member: {serial}")
            }
            HaLogMessage::Unrecoverable {
                attempt,
                serial,
                code,
            } => format!(
                "recovery attempt {attempt} failed for member: {serial}. Manual Recover or Auto \
                 Recovery will not be able to recover this member. Code: {}",
                code.log_code()
            ),
            HaLogMessage::NotActivatedExcluded { serial } => {
                format!("member {serial} is not activated and is excluded from the HA group")
            }
            HaLogMessage::RecoveryNotActivated { serial } => format!(
                "recovery attempt {serial} is not activated and cannot be reintroduced back into \
                 the HA group"
            ),
            HaLogMessage::RecoveryNowActivated { serial } => format!(
                "recovery attempt {serial} is now activated and will be reintroduce back into the \
                 HA group."
            ),
        }
    }
}

impl fmt::Display for HaLogMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const S: &str = "1234924189183";

    fn s() -> String {
        S.to_string()
    }

    /// One of every variant, with the expected rendering written out by hand from §4.
    fn cases() -> Vec<(HaLogMessage, &'static str)> {
        vec![
            (
                HaLogMessage::ConfiguredAsPassword,
                r#"configured as a "PASSWORD Based" virtual device"#,
            ),
            (
                HaLogMessage::ConfiguredAsPed,
                r#"configured as a "PED Based" virtual device"#,
            ),
            (
                HaLogMessage::DropMember { serial: s() },
                "has dropped member: 1234924189183",
            ),
            (
                HaLogMessage::DropUnrecoverable { serial: s() },
                "unable to reach member: 1234924189183. Manual Recover or Auto Recovery will be able to recover this member",
            ),
            (
                HaLogMessage::LoginFailed {
                    serial: s(),
                    code: Ckr::CKR_PIN_INCORRECT,
                },
                "can not login to member: 1234924189183, autorecovery will be disabled. Code: 0xA0 : CKR_PIN_INCORRECT",
            ),
            (
                HaLogMessage::MemberDeactivated { serial: s() },
                "member: 1234924189183 deactivated",
            ),
            (
                HaLogMessage::MemberNowActivated {
                    attempt: 3,
                    serial: s(),
                },
                "recovery attempt 3 member 1234924189183 is now activated and will be reintroduce back into the HA group.",
            ),
            (
                HaLogMessage::MemberRevoked { serial: s() },
                "member: 1234924189183 revoked",
            ),
            (HaLogMessage::MembersOffline, "all members gone offline."),
            (HaLogMessage::MgmtThreadStart, "management thread started"),
            (
                HaLogMessage::MgmtThreadTerminate,
                "management thread terminated",
            ),
            (
                HaLogMessage::NewMember { serial: s() },
                "detected new member member: 1234924189183",
            ),
            (
                HaLogMessage::Recovered {
                    attempt: 1,
                    serial: s(),
                },
                "recovery attempt 1 succeeded for member: 1234924189183",
            ),
            (
                HaLogMessage::Reintroducing {
                    attempt: 1,
                    count: 12,
                    token: s(),
                },
                "recovery attempt 1 reintroducing 12 token objects to recovered token 1234924189183",
            ),
            (
                HaLogMessage::RecoveryFailed {
                    attempt: 2,
                    serial: s(),
                    code: Ckr::CKR_DEVICE_ERROR,
                },
                "recovery attempt 2 failed for member: 1234924189183. Code: 0x30 : CKR_DEVICE_ERROR.",
            ),
            (
                HaLogMessage::RecoveryExhausted { serial: s() },
                "exceeded maximum number of autorecovery attempts for member: 1234924189183. Autorecovery will be disabled",
            ),
            (
                HaLogMessage::RenableMember { serial: s() },
                "Re-enable auto recovery process for member: 1234924189183",
            ),
            (
                HaLogMessage::Unrecoverable {
                    attempt: 4,
                    serial: s(),
                    code: Ckr::CKR_TOKEN_NOT_PRESENT,
                },
                "recovery attempt 4 failed for member: 1234924189183. Manual Recover or Auto Recovery will not be able to recover this member. Code: 0xE0 : CKR_TOKEN_NOT_PRESENT",
            ),
            (
                HaLogMessage::NotActivatedExcluded { serial: s() },
                "member 1234924189183 is not activated and is excluded from the HA group",
            ),
            (
                HaLogMessage::RecoveryNotActivated { serial: s() },
                "recovery attempt 1234924189183 is not activated and cannot be reintroduced back into the HA group",
            ),
            (
                HaLogMessage::RecoveryNowActivated { serial: s() },
                "recovery attempt 1234924189183 is now activated and will be reintroduce back into the HA group.",
            ),
        ]
    }

    /// Fills a §4 template mechanically from a message's fields (the independent check on
    /// `render`): the `<MessagePrefix> ` part and a literal trailing `\n` are dropped.
    fn fill(message: &HaLogMessage) -> String {
        let mut text = message
            .template()
            .template
            .strip_prefix("<MessagePrefix> ")
            .unwrap_or("<no prefix>")
            .to_string();
        if let Some(stripped) = text.strip_suffix(r"\n") {
            text = stripped.to_string();
        }
        let mut fields: Vec<(&str, String)> = Vec::new();
        match message {
            HaLogMessage::ConfiguredAsPassword
            | HaLogMessage::ConfiguredAsPed
            | HaLogMessage::MembersOffline
            | HaLogMessage::MgmtThreadStart
            | HaLogMessage::MgmtThreadTerminate => {}
            HaLogMessage::DropMember { serial }
            | HaLogMessage::DropUnrecoverable { serial }
            | HaLogMessage::MemberDeactivated { serial }
            | HaLogMessage::MemberRevoked { serial }
            | HaLogMessage::NewMember { serial }
            | HaLogMessage::RecoveryExhausted { serial }
            | HaLogMessage::RenableMember { serial }
            | HaLogMessage::NotActivatedExcluded { serial }
            | HaLogMessage::RecoveryNotActivated { serial }
            | HaLogMessage::RecoveryNowActivated { serial } => {
                fields.push(("<SerialNumber>", serial.clone()));
            }
            HaLogMessage::LoginFailed { serial, code } => {
                fields.push(("<SerialNumber>", serial.clone()));
                fields.push(("<ErrorCodeHex>", format!("0x{:X}", code.0)));
                fields.push(("<ErrorCodeString>", code.name()));
            }
            HaLogMessage::MemberNowActivated { attempt, serial } => {
                fields.push(("<AttemptNumber>", attempt.to_string()));
                fields.push(("<SerialNumber>", serial.clone()));
            }
            HaLogMessage::Recovered { attempt, serial } => {
                fields.push(("<Integer>", attempt.to_string()));
                fields.push(("<SerialNumber>", serial.clone()));
            }
            HaLogMessage::Reintroducing {
                attempt,
                count,
                token,
            } => {
                fields.push(("<AttemptNumber>", attempt.to_string()));
                fields.push(("<Number>", count.to_string()));
                fields.push(("<TokenNumber>", token.clone()));
            }
            HaLogMessage::RecoveryFailed {
                attempt,
                serial,
                code,
            }
            | HaLogMessage::Unrecoverable {
                attempt,
                serial,
                code,
            } => {
                fields.push(("<Integer>", attempt.to_string()));
                fields.push(("<SerialNumber>", serial.clone()));
                fields.push(("<ErrorCodeHex>", format!("0x{:X}", code.0)));
                fields.push(("<ErrorCodeString>", code.name()));
            }
        }
        for (placeholder, value) in fields {
            assert!(
                text.contains(placeholder),
                "{placeholder} missing from {}",
                message.id()
            );
            text = text.replace(placeholder, &value);
        }
        assert!(
            !text.contains('<'),
            "unfilled placeholder in {}: {text}",
            message.id()
        );
        text
    }

    #[test]
    fn every_variant_renders_its_hand_written_text() {
        for (message, expected) in cases() {
            assert_eq!(message.render(), expected, "{}", message.id());
            assert_eq!(message.to_string(), expected);
        }
    }

    #[test]
    fn every_variant_renders_its_catalogue_template_filled_in() {
        for (message, _) in cases() {
            assert_eq!(message.render(), fill(&message), "{}", message.id());
        }
    }

    #[test]
    fn cases_cover_every_catalogue_entry_once() {
        let ids: BTreeSet<&str> = cases().iter().map(|(m, _)| m.id()).collect();
        let catalogue: BTreeSet<&str> = CATALOGUE.iter().map(|e| e.id).collect();
        assert_eq!(cases().len(), 21);
        assert_eq!(ids, catalogue);
    }

    #[test]
    fn catalogue_has_21_unique_entries() {
        assert_eq!(CATALOGUE.len(), 21);
        let ids: BTreeSet<&str> = CATALOGUE.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), CATALOGUE.len());
        let templates: BTreeSet<&str> = CATALOGUE.iter().map(|e| e.template).collect();
        assert_eq!(templates.len(), CATALOGUE.len());
    }

    #[test]
    fn every_variant_id_is_in_the_catalogue() {
        for (message, _) in cases() {
            let entry = template_by_id(message.id());
            assert_eq!(entry, Some(message.template()), "{}", message.id());
        }
        assert_eq!(template_by_id("HALOG_NOPE"), None);
    }

    #[test]
    fn every_entry_starts_with_the_prefix_and_names_rules() {
        for entry in CATALOGUE {
            assert!(
                entry.template.starts_with("<MessagePrefix> "),
                "{}",
                entry.id
            );
            assert!(!entry.rules.is_empty(), "{}", entry.id);
            for rule in entry.rules {
                assert!(
                    rule.starts_with('B') || rule.starts_with('D'),
                    "{}: {rule}",
                    entry.id
                );
            }
        }
    }

    #[test]
    fn deprecated_entries_are_exactly_the_vendor_deprecated_ones() {
        let deprecated: Vec<&str> = CATALOGUE
            .iter()
            .filter(|e| e.deprecated)
            .map(|e| e.id)
            .collect();
        assert_eq!(deprecated, ["HALOG_RENABLEMEMBER", "HALOG_UNRECOVERABLE"]);
    }

    #[test]
    fn vendor_typos_are_kept() {
        assert!(NEWMEMBER.template.contains("new member member:"));
        assert!(
            MEMBER_NOW_ACTIVATED
                .template
                .contains("will be reintroduce back")
        );
        assert!(LOGINFAILED.template.contains("can not login"));
    }

    #[test]
    fn no_id_recovery_lines_keep_the_literal_newline_in_the_template_only() {
        for message in [
            HaLogMessage::RecoveryNotActivated { serial: s() },
            HaLogMessage::RecoveryNowActivated { serial: s() },
        ] {
            assert!(message.template().template.ends_with(r"\n"));
            assert!(!message.render().ends_with('n'));
            assert!(!message.render().contains('\n'));
            assert!(!message.render().contains('\\'));
        }
    }

    #[test]
    fn unnamed_codes_render_in_hex() {
        let message = HaLogMessage::RecoveryFailed {
            attempt: 1,
            serial: s(),
            code: Ckr(0x8000_0001),
        };
        assert_eq!(
            message.render(),
            "recovery attempt 1 failed for member: 1234924189183. Code: 0x80000001 : CKR_0x80000001."
        );
    }
}
