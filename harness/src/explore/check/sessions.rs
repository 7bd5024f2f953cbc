//! The application's session handles, for I2's excuses (PKCS#11, D11, D25, D60).
//!
//! The application's own calls use one handle: the one its last `C_OpenSession` gave, until it
//! closes it (the runner forgets the handle whatever the close answered) or finalizes. A
//! `Threads` step's calls use the threads' own sessions, opened for the step (D60). An
//! activeBasic total loss (D11, or a switch to activeBasic while an activeEnhanced total loss is
//! in progress, D25) invalidates every session open then: a call on such a handle gets
//! `CKR_SESSION_HANDLE_INVALID` "even after members return", until the application opens a new
//! one. A thread's session opened after the loss is a new one, valid, and a login on it does
//! not revive the handle the application's own calls still hold (seeds 25735, 43382, 46092,
//! 86380, 88012: a thread's `C_Login` succeeded, then the application's own `C_Login` on its
//! lost handle got `CKR_SESSION_HANDLE_INVALID`, as D11 says it must).

/// The handle the application's own calls use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Handle {
    /// None held (never opened, closed, finalized): the runner passes an invalid handle.
    #[default]
    None,
    /// A session open and valid.
    Open,
    /// Invalidated by an activeBasic total loss (D11, D25).
    Lost,
}

/// The application's handles (its own, and its threads').
#[derive(Clone, Debug, Default)]
pub(super) struct Handles {
    main: Handle,
    /// The threads' sessions open at an activeBasic total loss are invalid until the next
    /// `Threads` step opens new ones.
    threads_lost: bool,
}

impl Handles {
    /// A `C_OpenSession` succeeded (`thread`: a thread's session, opened for a `Threads` step).
    pub(super) fn opened(&mut self, thread: bool) {
        if thread {
            self.threads_lost = false;
        } else {
            self.main = Handle::Open;
        }
    }

    /// A `C_Login` succeeded on the session: that session is valid.
    pub(super) fn logged_in(&mut self, thread: bool) {
        self.opened(thread);
    }

    /// The application's own `C_CloseSession` (whatever it answered) or `C_Finalize`: it holds
    /// no handle for its own calls any more.
    pub(super) fn closed(&mut self) {
        self.main = Handle::None;
    }

    /// An activeBasic total loss (D11, D25): every session open now is invalid.
    pub(super) fn lost(&mut self) {
        if self.main == Handle::Open {
            self.main = Handle::Lost;
        }
        self.threads_lost = true;
    }

    /// Whether a call (`thread`: on a thread's session) was made on a handle an activeBasic
    /// total loss invalidated: `CKR_SESSION_HANDLE_INVALID` (or not logged in) is the rule's.
    pub(super) fn invalidated(&self, thread: bool) -> bool {
        if thread {
            self.threads_lost
        } else {
            self.main == Handle::Lost
        }
    }

    /// Whether the application's own call was made while it held no session at all (PKCS#11:
    /// the handle it passes names none, `CKR_SESSION_HANDLE_INVALID` is its own state).
    pub(super) fn none_held(&self, thread: bool) -> bool {
        !thread && self.main == Handle::None
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::observe::{FaultObs, Happening, Millis, OpObs};
    use super::super::check;
    use super::super::tests::{app, obs};
    use super::*;

    const PREFIX: &str = "Wed Oct  4 16:29:21 2017 : [17469] HA group: 1 ";

    fn log(msg: &str) -> Happening {
        Happening::Log(format!("{PREFIX}{msg}"))
    }

    fn command(line: &str) -> Happening {
        Happening::Command {
            line: line.into(),
            output: "Command Result : No Error".into(),
        }
    }

    fn on_thread(mut h: Happening) -> Happening {
        if let Happening::App(a) = &mut h {
            a.thread = true;
        }
        h
    }

    fn fault(member: &str, fault: FaultObs) -> Happening {
        Happening::Fault {
            member: member.into(),
            fault,
        }
    }

    /// Logged in on an open session under activeEnhanced; A and B lost at 10 ms, then the
    /// switch to activeBasic (D25) at 15 ms; A back at 60 s.
    fn lost_by_the_switch() -> Vec<(Millis, Happening)> {
        vec![
            (0, app(OpObs::OpenSession, "CKR_OK", None)),
            (0, app(OpObs::Login, "CKR_OK", None)),
            (
                0,
                command("hagroup recoverymode -group g -mode activeEnhanced"),
            ),
            (10, fault("A", FaultObs::Drop)),
            (10, fault("B", FaultObs::Drop)),
            (10, log("has dropped member: A")),
            (10, log("has dropped member: B")),
            (10, log("all members gone offline.")),
            (
                15,
                command("hagroup recoverymode -group g -mode activeBasic"),
            ),
            (20, fault("A", FaultObs::Restore)),
            (60_010, log("recovery attempt 1 succeeded for member: A")),
        ]
    }

    #[test]
    fn a_threads_login_does_not_revive_the_handle_the_applications_own_calls_hold() {
        // Seeds 25735, 43382, 46092, 86380, 88012 (D11, D25, D60): a thread's session opened
        // after the loss logs in; the application's own C_Login on its lost handle still gets
        // CKR_SESSION_HANDLE_INVALID.
        let mut events = lost_by_the_switch();
        events.push((200_000, on_thread(app(OpObs::OpenSession, "CKR_OK", None))));
        events.push((200_000, on_thread(app(OpObs::Login, "CKR_OK", None))));
        let mut lost = events.clone();
        lost.push((
            200_001,
            app(OpObs::Login, "CKR_SESSION_HANDLE_INVALID", None),
        ));
        assert_eq!(check(&obs(lost), &[], None), None);
        // Once the application opened a new session of its own, its handle is valid: A could
        // serve the login.
        events.push((200_001, app(OpObs::OpenSession, "CKR_OK", None)));
        events.push((
            200_002,
            app(OpObs::Login, "CKR_SESSION_HANDLE_INVALID", None),
        ));
        assert_eq!(
            check(&obs(events), &[], None).map(|v| v.invariant),
            Some("I2")
        );
    }

    #[test]
    fn a_call_made_while_the_application_holds_no_session_is_its_own() {
        // PKCS#11: after its C_CloseSession the application's handle names no session (a
        // second session it opened earlier keeps the login, so I2's login excuse is silent).
        let create = app(
            OpObs::Create {
                label: "k1".into(),
                token: false,
                pair: false,
            },
            "CKR_SESSION_HANDLE_INVALID",
            None,
        );
        let mut events = vec![
            (0, app(OpObs::OpenSession, "CKR_OK", None)),
            (0, app(OpObs::OpenSession, "CKR_OK", None)),
            (0, app(OpObs::Login, "CKR_OK", None)),
            (1, app(OpObs::CloseSession, "CKR_OK", None)),
        ];
        let mut closed = events.clone();
        closed.push((2, create.clone()));
        assert_eq!(check(&obs(closed), &[], None), None);
        events.push((2, app(OpObs::OpenSession, "CKR_OK", None)));
        events.push((3, create));
        assert_eq!(
            check(&obs(events), &[], None).map(|v| v.invariant),
            Some("I2")
        );
    }

    #[test]
    fn the_switch_closes_the_sessions_it_loses() {
        // Seed 64788 (D25 as D11): the sessions lost at the switch are no longer open, so
        // after a new session closes nothing keeps the login; a creation after a failed login
        // is then the application's own "not logged in".
        let create = app(
            OpObs::Create {
                label: "k1".into(),
                token: false,
                pair: true,
            },
            "CKR_USER_NOT_LOGGED_IN",
            None,
        );
        let mut events = lost_by_the_switch();
        events.extend([
            (
                200_000,
                app(OpObs::CloseSession, "CKR_SESSION_HANDLE_INVALID", None),
            ),
            (200_000, app(OpObs::OpenSession, "CKR_OK", None)),
            (200_000, app(OpObs::Login, "CKR_OK", None)),
            (200_001, app(OpObs::CloseSession, "CKR_OK", None)),
            (200_002, app(OpObs::OpenSession, "CKR_OK", None)),
            (200_003, app(OpObs::Login, "CKR_FUNCTION_FAILED", None)),
        ]);
        let mut refused = events.clone();
        refused.push((200_004, create.clone()));
        assert_eq!(check(&obs(refused), &[], None), None);
        // Logged in again, the creation's "not logged in" is the engine's: A could serve it.
        events.push((200_004, app(OpObs::Login, "CKR_OK", None)));
        events.push((200_005, create));
        assert_eq!(
            check(&obs(events), &[], None).map(|v| v.invariant),
            Some("I2")
        );
    }

    #[test]
    fn a_member_added_and_not_yet_detected_is_not_back_from_a_total_loss() {
        // Seed 75682 (B54, D24, D25): C added at run time is not in service before the log
        // detects it, so the switch to activeBasic while A and B are gone loses the session.
        let create = |t: Millis| {
            (
                t,
                app(
                    OpObs::Create {
                        label: "k1".into(),
                        token: false,
                        pair: false,
                    },
                    "CKR_SESSION_HANDLE_INVALID",
                    None,
                ),
            )
        };
        let run = |detected_at: Millis| {
            let mut events = vec![
                (0, app(OpObs::OpenSession, "CKR_OK", None)),
                (0, app(OpObs::Login, "CKR_OK", None)),
                (
                    0,
                    command("hagroup recoverymode -group g -mode activeEnhanced"),
                ),
                (5, command("hagroup addmember -group g -serialnumber C")),
                (10, fault("A", FaultObs::Drop)),
                (10, fault("B", FaultObs::Drop)),
                (10, log("has dropped member: A")),
                (10, log("has dropped member: B")),
                (10, log("all members gone offline.")),
                (detected_at, log("detected new member member: C")),
                (
                    15,
                    command("hagroup recoverymode -group g -mode activeBasic"),
                ),
                create(200_000),
            ];
            events.sort_by_key(|(t, _)| *t);
            obs(events)
        };
        let spares = ["C".to_string()];
        assert_eq!(check(&run(60_000), &spares, None), None);
        // Detected before the switch, C was back: the session survives (D25) and C, usable,
        // could serve the creation.
        assert_eq!(
            check(&run(12), &spares, None).map(|v| v.invariant),
            Some("I2")
        );
    }

    #[test]
    fn a_thread_session_opened_after_a_loss_does_not_revive_the_applications_own() {
        let mut h = Handles::default();
        h.opened(false);
        assert!(!h.invalidated(false) && !h.none_held(false));
        h.lost();
        assert!(h.invalidated(false) && h.invalidated(true));
        h.opened(true);
        h.logged_in(true);
        assert!(!h.invalidated(true));
        assert!(h.invalidated(false));
        h.opened(false);
        assert!(!h.invalidated(false));
    }

    #[test]
    fn a_closed_handle_is_none_and_a_loss_does_not_make_it_lost() {
        let mut h = Handles::default();
        assert!(h.none_held(false));
        h.opened(false);
        h.closed();
        assert!(h.none_held(false) && !h.none_held(true));
        h.lost();
        assert!(h.none_held(false) && !h.invalidated(false));
    }
}
