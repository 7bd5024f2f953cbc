//! Application behaviour profiles: how an application reacts to the return codes it sees.
//!
//! The scenario language's `application: (profile: ..., slot: ...)` names one. A profile is a
//! list of [`Rule`]s (on an error of this class: these [`Reaction`]s, then try the call again;
//! give up after N attempts) and a [`SlotBinding`] (how the application finds its slot when it
//! opens a session). The built-in ones are rule lists too:
//!
//! - `Naive`: no rules; caches its slot id, session and object handles forever.
//! - `EvictOnError`: on a session-class error drops the session, opens and logs in again and
//!   finds its keys again by label; on an object-class error finds its keys again; retries a
//!   transient failure; takes `CKR_USER_ALREADY_LOGGED_IN` as logged in. Finds its slot by
//!   token label.
//! - `Reinit`: `EvictOnError`, and on a device-class error finalises and initialises the
//!   library, then opens, logs in and finds its keys again.
//! - `Custom`: the rules and slot binding a scenario gives.
//!
//! This module only decides; [`super::react`] carries the decisions out through the engine.

use ha_engine::Ckr;
use serde::{Deserialize, Serialize};

/// How many attempts a built-in profile makes at one call before it gives up.
pub const DEFAULT_ATTEMPTS: u32 = 3;

/// The application of a scenario: its profile and how it finds its slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// How it reacts to errors.
    pub profile: Profile,
    /// How it finds its slot; `None` = the profile's own ([`Profile::default_binding`]).
    #[serde(default)]
    pub slot: Option<SlotBinding>,
}

impl AppSpec {
    /// The binding in force.
    pub fn binding(&self) -> SlotBinding {
        self.slot.unwrap_or_else(|| self.profile.default_binding())
    }
}

/// An application behaviour profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Profile {
    /// No reactions: whatever it got first (slot id, session, object handles) it keeps.
    Naive,
    /// Evicts a session on a session-class error and re-finds its keys (see module docs).
    EvictOnError,
    /// `EvictOnError` plus finalise and initialise on a device-class error.
    Reinit,
    /// Built from rules.
    Custom(Vec<Rule>),
}

impl Profile {
    /// Its name as the transcript prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Naive => "naive",
            Profile::EvictOnError => "evict-on-error",
            Profile::Reinit => "reinit",
            Profile::Custom(_) => "custom",
        }
    }

    /// How this profile finds its slot unless the scenario says otherwise.
    pub fn default_binding(&self) -> SlotBinding {
        match self {
            Profile::Naive | Profile::Custom(_) => SlotBinding::CachedId,
            Profile::EvictOnError | Profile::Reinit => SlotBinding::Label,
        }
    }

    /// Its rules, in the order they are tried.
    pub fn rules(&self) -> Vec<Rule> {
        let evict = vec![
            Rule::new(
                ErrorMatch::Code("CKR_USER_ALREADY_LOGGED_IN".into()),
                vec![Reaction::Accept],
            ),
            Rule::new(
                ErrorMatch::Session,
                vec![Reaction::Reopen, Reaction::Refind],
            ),
            Rule::new(ErrorMatch::Object, vec![Reaction::Refind]),
            Rule::new(ErrorMatch::Transient, vec![Reaction::Retry]),
        ];
        match self {
            Profile::Naive => Vec::new(),
            Profile::EvictOnError => evict,
            Profile::Reinit => {
                let mut rules = evict;
                rules.push(Rule::new(
                    ErrorMatch::Device,
                    vec![Reaction::Reinitialize, Reaction::Refind],
                ));
                rules
            }
            Profile::Custom(rules) => rules.clone(),
        }
    }

    /// What to do when a call answered `rv` at attempt `attempt` (counted from 1).
    pub fn decide(&self, rv: Ckr, attempt: u32) -> Decision {
        let Some(rule) = self.rules().into_iter().find(|r| r.on.matches(rv)) else {
            return Decision::Stand;
        };
        if attempt >= rule.give_up_after {
            return Decision::GiveUp {
                attempts: rule.give_up_after,
            };
        }
        Decision::React(rule.then)
    }
}

/// How the application finds the slot it opens sessions on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotBinding {
    /// The slot id it saw first, kept for ever (moves under it when slots renumber, D14).
    CachedId,
    /// The virtual slot whose token label is the group label it saw first.
    Label,
    /// The virtual slot whose token serial is the group serial it saw first (B2, B4).
    Serial,
}

/// One rule: on an error matching `on`, run `then`, then try the call again; after
/// `give_up_after` attempts at one call, give up (the error stands).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Which errors.
    pub on: ErrorMatch,
    /// What to do, in order.
    pub then: Vec<Reaction>,
    /// Attempts at one call before giving up (default 3, at least 1).
    #[serde(default = "default_attempts")]
    pub give_up_after: u32,
}

impl Rule {
    /// A rule with the default attempt budget.
    pub fn new(on: ErrorMatch, then: Vec<Reaction>) -> Rule {
        Rule {
            on,
            then,
            give_up_after: DEFAULT_ATTEMPTS,
        }
    }
}

fn default_attempts() -> u32 {
    DEFAULT_ATTEMPTS
}

/// Which return codes a rule answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorMatch {
    /// This one code, by `CKR_*` name.
    Code(String),
    /// The session is gone or lost its login: `CKR_SESSION_HANDLE_INVALID`,
    /// `CKR_SESSION_CLOSED`, `CKR_USER_NOT_LOGGED_IN`.
    Session,
    /// The object handle is not (or no longer) valid: `CKR_OBJECT_HANDLE_INVALID`,
    /// `CKR_KEY_HANDLE_INVALID`.
    Object,
    /// The token or library is gone: `CKR_DEVICE_ERROR`, `CKR_DEVICE_REMOVED`,
    /// `CKR_TOKEN_NOT_PRESENT`, `CKR_SLOT_ID_INVALID`, `CKR_CRYPTOKI_NOT_INITIALIZED`.
    Device,
    /// Worth trying again as it is: `CKR_FUNCTION_FAILED` (a busy member, D3).
    Transient,
    /// Any failure.
    Any,
}

impl ErrorMatch {
    /// Whether `rv` (a failure) is one of these.
    pub fn matches(&self, rv: Ckr) -> bool {
        if rv == Ckr::CKR_OK {
            return false;
        }
        match self {
            ErrorMatch::Code(name) => Ckr::from_name(name) == Some(rv),
            ErrorMatch::Session => matches!(
                rv,
                Ckr::CKR_SESSION_HANDLE_INVALID
                    | Ckr::CKR_SESSION_CLOSED
                    | Ckr::CKR_USER_NOT_LOGGED_IN
            ),
            ErrorMatch::Object => matches!(
                rv,
                Ckr::CKR_OBJECT_HANDLE_INVALID | Ckr::CKR_KEY_HANDLE_INVALID
            ),
            ErrorMatch::Device => matches!(
                rv,
                Ckr::CKR_DEVICE_ERROR
                    | Ckr::CKR_DEVICE_REMOVED
                    | Ckr::CKR_TOKEN_NOT_PRESENT
                    | Ckr::CKR_SLOT_ID_INVALID
                    | Ckr::CKR_CRYPTOKI_NOT_INITIALIZED
            ),
            ErrorMatch::Transient => rv == Ckr::CKR_FUNCTION_FAILED,
            ErrorMatch::Any => true,
        }
    }
}

/// One thing the application does in answer to an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reaction {
    /// Close its session (whatever the answer), find its slot again (by the profile's
    /// binding), open a new session and log in.
    Reopen,
    /// Find each of its objects again by label (`C_FindObjects`), replacing its handles.
    Refind,
    /// Log in again on its session (`CKR_USER_ALREADY_LOGGED_IN` counts as logged in).
    Relogin,
    /// `C_Finalize`, `C_Initialize`, then find its slot again, open a session and log in.
    Reinitialize,
    /// Nothing: just try the call again.
    Retry,
    /// Take the answer as success and stop (e.g. `CKR_USER_ALREADY_LOGGED_IN` at a login).
    Accept,
}

impl Reaction {
    /// Its name as the transcript prints it.
    pub fn name(self) -> &'static str {
        match self {
            Reaction::Reopen => "reopen",
            Reaction::Refind => "re-find",
            Reaction::Relogin => "re-login",
            Reaction::Reinitialize => "reinitialise",
            Reaction::Retry => "retry",
            Reaction::Accept => "accept",
        }
    }
}

/// What a profile does with a failed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No rule answers this code: the error stands.
    Stand,
    /// Run these reactions, then try the call again.
    React(Vec<Reaction>),
    /// The rule's attempts are spent: the error stands.
    GiveUp {
        /// The attempts made.
        attempts: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_never_reacts() {
        for rv in [
            Ckr::CKR_SESSION_HANDLE_INVALID,
            Ckr::CKR_OBJECT_HANDLE_INVALID,
            Ckr::CKR_DEVICE_ERROR,
            Ckr::CKR_FUNCTION_FAILED,
        ] {
            assert_eq!(Profile::Naive.decide(rv, 1), Decision::Stand);
        }
        assert_eq!(Profile::Naive.default_binding(), SlotBinding::CachedId);
    }

    #[test]
    fn evict_on_error_reopens_on_session_errors_only() {
        let p = Profile::EvictOnError;
        assert_eq!(
            p.decide(Ckr::CKR_SESSION_HANDLE_INVALID, 1),
            Decision::React(vec![Reaction::Reopen, Reaction::Refind])
        );
        assert_eq!(
            p.decide(Ckr::CKR_OBJECT_HANDLE_INVALID, 1),
            Decision::React(vec![Reaction::Refind])
        );
        assert_eq!(
            p.decide(Ckr::CKR_FUNCTION_FAILED, 2),
            Decision::React(vec![Reaction::Retry])
        );
        // A device-class error is not a session's: the evicting application lets it stand.
        assert_eq!(p.decide(Ckr::CKR_DEVICE_ERROR, 1), Decision::Stand);
        assert_eq!(
            p.decide(Ckr::CKR_SESSION_HANDLE_INVALID, 3),
            Decision::GiveUp { attempts: 3 }
        );
        assert_eq!(p.default_binding(), SlotBinding::Label);
    }

    #[test]
    fn reinit_reinitialises_on_device_errors() {
        let p = Profile::Reinit;
        for rv in [
            Ckr::CKR_DEVICE_ERROR,
            Ckr::CKR_TOKEN_NOT_PRESENT,
            Ckr::CKR_CRYPTOKI_NOT_INITIALIZED,
        ] {
            assert_eq!(
                p.decide(rv, 1),
                Decision::React(vec![Reaction::Reinitialize, Reaction::Refind])
            );
        }
        assert_eq!(
            p.decide(Ckr::CKR_SESSION_CLOSED, 1),
            Decision::React(vec![Reaction::Reopen, Reaction::Refind])
        );
        assert_eq!(p.decide(Ckr::CKR_PIN_INCORRECT, 1), Decision::Stand);
    }

    #[test]
    fn custom_rules_apply_in_order_with_their_own_budget() {
        let p = Profile::Custom(vec![
            Rule {
                on: ErrorMatch::Code("CKR_DEVICE_ERROR".into()),
                then: vec![Reaction::Retry],
                give_up_after: 5,
            },
            Rule::new(ErrorMatch::Any, vec![Reaction::Relogin]),
        ]);
        assert_eq!(
            p.decide(Ckr::CKR_DEVICE_ERROR, 4),
            Decision::React(vec![Reaction::Retry])
        );
        assert_eq!(
            p.decide(Ckr::CKR_DEVICE_ERROR, 5),
            Decision::GiveUp { attempts: 5 }
        );
        assert_eq!(
            p.decide(Ckr::CKR_USER_NOT_LOGGED_IN, 1),
            Decision::React(vec![Reaction::Relogin])
        );
        assert_eq!(p.decide(Ckr::CKR_OK, 1), Decision::Stand);
        assert_eq!(p.default_binding(), SlotBinding::CachedId);
    }

    #[test]
    fn a_profile_reads_from_ron() {
        // As the scenario loader reads it (`slot: Serial` for `Some(Serial)`).
        let spec: AppSpec = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(
                "(profile: Custom([(on: Session, then: [Reopen, Refind], give_up_after: 2)]), slot: Serial)",
            )
            .expect("parses");
        assert_eq!(spec.binding(), SlotBinding::Serial);
        assert_eq!(
            spec.profile.decide(Ckr::CKR_SESSION_CLOSED, 2),
            Decision::GiveUp { attempts: 2 }
        );
    }
}
