//! Planted bugs: the "teeth" of exploration. Each is a deliberately wrong variant of one engine
//! decision, compiled into every build, off by default and reachable only through
//! [`crate::HaEngine::plant`] from Rust (never from a scenario file or the CLI). Tests turn one
//! on and require `hasim explore` to find it within 2,000 seeds and shrinking to cut it down to a
//! small scenario: proof that the invariants can fail.

/// One planted bug.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlantedBug {
    /// Recovery lines number their attempt one too high (breaks D9 numbering; I3).
    MiscountAttempts,
    /// Every dropped member is also logged as a total loss (B53; I3).
    FalseTotalLoss,
    /// A failed call drops another alive member instead of the one that failed (B29; I3).
    DropWrongMember,
    /// A standby member serves calls while active members are alive (B35; I5).
    StandbyServes,
    /// Automatic recovery ignores the retry count (B44; I3).
    IgnoreRetryLimit,
    /// `C_Logout` leaves the members logged in (a private key usable without login; I7).
    KeepLoginOnLogout,
}

impl PlantedBug {
    /// Every planted bug.
    pub const ALL: [PlantedBug; 6] = [
        PlantedBug::MiscountAttempts,
        PlantedBug::FalseTotalLoss,
        PlantedBug::DropWrongMember,
        PlantedBug::StandbyServes,
        PlantedBug::IgnoreRetryLimit,
        PlantedBug::KeepLoginOnLogout,
    ];
}
