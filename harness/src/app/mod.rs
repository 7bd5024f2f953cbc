//! The application under test: what it holds (slot, session, object handles) and how it
//! reacts to the return codes it sees (its behaviour profile, [`profile`]).
//!
//! The runner drives the application's steps against the engine; with a profile, each step's
//! failed call goes through the profile's decision (`runner::react` carries it out): the
//! application reopens, re-finds, logs in again, reinitialises, retries or gives up, and every
//! call it makes on the way is an application call in the transcript like any other.

pub mod profile;

use std::collections::BTreeMap;

use ha_engine::state::{VObjectHandle, VSessionHandle};

pub use profile::{AppSpec, Decision, ErrorMatch, Profile, Reaction, Rule, SlotBinding};

/// The application's view: its slot, its session and the objects it created, by label.
#[derive(Debug, Default)]
pub struct App {
    /// Its session, if it has one open.
    pub session: Option<VSessionHandle>,
    /// The handle of each object it made or found, by label (for a key pair: the private half).
    pub keys: BTreeMap<String, VObjectHandle>,
    /// The public half of each key pair, by the pair's label.
    pub pairs: BTreeMap<String, VObjectHandle>,
    /// The slot it found first (with a profile): its id, token label and token serial.
    pub slot: Option<SlotSeen>,
}

/// The slot the application found when it first opened a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotSeen {
    /// `CK_SLOT_ID` then.
    pub id: u64,
    /// The token label (the group label).
    pub label: String,
    /// The token serial (the group serial, B2).
    pub serial: String,
}
