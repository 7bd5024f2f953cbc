//! Carries out an application profile's decisions (`crate::app::profile`): runs an `App` step,
//! and when its call fails asks the profile what to do, does it (reopen, re-find, re-login,
//! reinitialise, retry) and tries the call again, or lets the code stand. Every call the
//! application makes on the way is recorded as an application call; every decision is a
//! `react` line in the transcript.

use ha_engine::Ckr;
use ha_engine::ports::{Millis, ObjectClass};
use ha_engine::slots::SlotTarget;
use sim::record::{Event, React};

use super::{Runner, StepFailure};
use crate::app::{AppSpec, Decision, Reaction, SlotBinding, SlotSeen};
use crate::scenario::AppOp;
use crate::transcript::result_of;

/// The end of the `react` line of a re-find that found nothing: the application keeps the
/// handle it had, which after a `C_Finalize` names nothing of this process, or another object
/// (exploration's checker reads it, D69).
pub const HANDLE_KEPT: &str = ": not found; the old handle is kept";

impl Runner<'_> {
    /// An `App` step under the scenario's profile.
    pub(super) fn app_profiled(&mut self, op: &AppOp, spec: &AppSpec) -> Result<(), StepFailure> {
        match op {
            AppOp::Sign { key, times } | AppOp::Encrypt { key, times } => {
                let sign = matches!(op, AppOp::Sign { .. });
                for i in 0..*times {
                    self.attempts(spec, op, |runner| {
                        runner.ensure_initialized();
                        runner.crypto(sign, key, 1, u64::from(i))
                    })?;
                }
                Ok(())
            }
            AppOp::OpenSession
            | AppOp::OpenSessionOn(_)
            | AppOp::Login
            | AppOp::Logout
            | AppOp::GenerateKey { .. }
            | AppOp::GenerateSessionKey { .. }
            | AppOp::CreateData { .. }
            | AppOp::UpdateData { .. }
            | AppOp::Destroy { .. }
            | AppOp::DestroyPair { .. } => self.attempts(spec, op, |runner| runner.app(op)),
            // Initialise, finalise, close, multi-part and look-ups are made once, as written.
            _ => self.app(op),
        }
    }

    /// Makes one call (`call`) until it succeeds, no rule answers its code, or the profile
    /// gives up.
    fn attempts(
        &mut self,
        spec: &AppSpec,
        op: &AppOp,
        mut call: impl FnMut(&mut Self) -> Result<(), StepFailure>,
    ) -> Result<(), StepFailure> {
        let mut attempt = 1;
        loop {
            self.last = Ckr::CKR_OK;
            call(self)?;
            let rv = self.last;
            if rv == Ckr::CKR_OK {
                return Ok(());
            }
            let name = spec.profile.name();
            match spec.profile.decide(rv, attempt) {
                Decision::Stand => {
                    self.react(
                        format!("{rv}: {name} has no rule for it; the error stands"),
                        Some(rv),
                    );
                    return Ok(());
                }
                Decision::GiveUp { attempts } => {
                    self.react(
                        format!(
                            "{rv}: {name} gives up after {attempts} attempts; the error stands"
                        ),
                        Some(rv),
                    );
                    return Ok(());
                }
                Decision::React(reactions) => {
                    let names: Vec<&str> = reactions.iter().map(|r| r.name()).collect();
                    self.react(format!("{rv}: {name} reacts: {}", names.join(", ")), None);
                    let mut reopened = false;
                    for reaction in &reactions {
                        if *reaction == Reaction::Accept {
                            return Ok(());
                        }
                        reopened |= matches!(reaction, Reaction::Reopen | Reaction::Reinitialize);
                        self.reaction(*reaction, spec.binding());
                    }
                    // A reopen (or reinitialise) has opened and logged in already.
                    if reopened
                        && matches!(op, AppOp::OpenSession | AppOp::Login)
                        && self.app.session.is_some()
                    {
                        return Ok(());
                    }
                    attempt += 1;
                }
            }
        }
    }

    fn react(&mut self, text: String, stands: Option<Ckr>) {
        self.push(Event::React(React { text, stands }));
    }

    /// One reaction, through the engine; each call it makes is recorded.
    fn reaction(&mut self, reaction: Reaction, binding: SlotBinding) {
        let now = self.now();
        match reaction {
            Reaction::Reopen => {
                if let Some(vs) = self.app.session.take() {
                    let r = self.world.engine().close_session(now, vs);
                    self.record_app("C_CloseSession".into(), result_of(&r));
                }
                self.open_with(now, binding);
                self.login_accepting();
            }
            Reaction::Refind => self.refind(now),
            Reaction::Relogin => self.login_accepting(),
            Reaction::Reinitialize => {
                let r = self.world.engine().finalize(now);
                self.app.session = None;
                self.record_app("C_Finalize".into(), result_of(&r));
                let now = self.now();
                let r = self.world.engine().initialize(now);
                self.record_app("C_Initialize".into(), result_of(&r));
                self.drain();
                let now = self.now();
                self.open_with(now, binding);
                self.login_accepting();
            }
            Reaction::Retry | Reaction::Accept => {}
        }
        self.drain();
    }

    /// `C_Login`; an application that reacts knows `CKR_USER_ALREADY_LOGGED_IN` means it is.
    fn login_accepting(&mut self) {
        let Some(vs) = self.app.session else {
            return;
        };
        let now = self.now();
        let pin = self.credential.clone();
        let r = self.world.engine().login(now, vs, &pin);
        self.record_app("C_Login".into(), result_of(&r));
        if self.last == Ckr::CKR_USER_ALREADY_LOGGED_IN {
            self.react(
                "CKR_USER_ALREADY_LOGGED_IN: the application is logged in".into(),
                None,
            );
            self.last = Ckr::CKR_OK;
        }
    }

    /// Finds each of the application's objects again by label and takes the handles found.
    fn refind(&mut self, now: Millis) {
        let vs = self.session();
        let labels: Vec<String> = self.app.keys.keys().cloned().collect();
        for label in labels {
            let r = self.world.engine().find_objects(now, vs, &label);
            self.record_app(format!("C_FindObjects({label})"), result_of(&r));
            let Ok(found) = r else {
                continue;
            };
            if found.is_empty() {
                self.react(format!("{label}{HANDLE_KEPT}"), None);
                continue;
            }
            for (h, class) in found {
                if class == ObjectClass::PublicKey {
                    self.app.pairs.insert(label.clone(), h);
                } else {
                    self.app.keys.insert(label.clone(), h);
                }
            }
        }
    }

    /// `OpenSession` with a profile: the slot as the profile's binding finds it.
    pub(super) fn open_bound(&mut self, now: Millis) {
        let binding = self
            .scenario
            .application
            .as_ref()
            .map_or(SlotBinding::CachedId, AppSpec::binding);
        self.open_with(now, binding);
    }

    /// Finds the slot (the first virtual slot the first time, cached as seen), opens a session
    /// on it and records `C_OpenSession(slot N)`.
    fn open_with(&mut self, now: Millis, binding: SlotBinding) {
        let slots = self.world.engine().app_slot_list();
        let seen = match &self.app.slot {
            Some(seen) => seen.clone(),
            None => {
                let Some(first) = slots
                    .iter()
                    .find(|s| matches!(s.target, SlotTarget::Virtual(_)))
                else {
                    self.record_app("C_OpenSession(no HA slot)".into(), Ckr::CKR_SLOT_ID_INVALID);
                    return;
                };
                let seen = SlotSeen {
                    id: first.id,
                    label: first.label.clone(),
                    serial: first.serial.clone(),
                };
                self.app.slot = Some(seen.clone());
                seen
            }
        };
        let virtual_with = |pick: &dyn Fn(&ha_engine::slots::SlotEntry) -> bool| {
            slots
                .iter()
                .find(|s| matches!(s.target, SlotTarget::Virtual(_)) && pick(s))
                .cloned()
        };
        let (target, how) = match binding {
            SlotBinding::CachedId => (
                slots.iter().find(|s| s.id == seen.id).cloned(),
                format!("cached id {}", seen.id),
            ),
            SlotBinding::Label => (
                virtual_with(&|s| s.label == seen.label),
                format!("label {}", seen.label),
            ),
            SlotBinding::Serial => (
                virtual_with(&|s| s.serial == seen.serial),
                format!("serial {}", seen.serial),
            ),
        };
        let Some(slot) = target else {
            self.react(format!("no slot has {how}"), None);
            self.record_app(
                format!("C_OpenSession(slot {})", seen.id),
                Ckr::CKR_SLOT_ID_INVALID,
            );
            return;
        };
        match slot.target {
            SlotTarget::Virtual(group) => {
                let r = self.world.engine().open_session(now, group);
                if let Ok(vs) = r {
                    self.app.session = Some(vs);
                }
                self.record_app(format!("C_OpenSession(slot {})", slot.id), result_of(&r));
            }
            SlotTarget::Physical(_) => {
                // The cached id now names a member's own slot (D14): a real application would
                // work on that one partition outside HA; hasim stops it there (D30).
                self.react(
                    format!(
                        "slot {} is now {} {} ({}), not the HA virtual slot it found first",
                        slot.id, slot.description, slot.label, slot.serial
                    ),
                    None,
                );
                self.record_app(
                    format!("C_OpenSession(slot {})", slot.id),
                    Ckr::CKR_TOKEN_NOT_RECOGNIZED,
                );
            }
        }
    }
}
