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
    /// Issue 9, bug 4, re-planted: a copy source's remembered object handle, reissued by the
    /// member since (a deactivation, a logout), is taken as "does not hold it" and never looked
    /// up again by id, so the rejoining member's gap is never filled (B19, B20, D7; I1).
    StaleSourceHandle,
    /// Issue 9, bug 9, re-planted: a member added while the application is logged out is
    /// detected and reconnected, but never compared with the group's table at the next login,
    /// so it gets none of the group's objects (B54, D7; I1).
    NewMemberNotReconciledAtLogin,
    /// Issue 9, bug 10, re-planted: a partition once removed from its group loses its
    /// physical slot in the application's slot list, and keeps it lost after it is added back
    /// (D14, B56, B34; I8).
    RemovedMemberUnlisted,
    /// Issue 9, bug 18, re-planted: LunaCM acts with the application's login on each partition
    /// instead of its own, so a changed Crypto Officer credential does not stop it while the
    /// application is logged in (D22, B61, B9; I9). Planted in the harness, which builds LunaCM.
    LunacmBorrowsLogin,
    /// Issue 9, bug 19, re-planted: a member left with gaps is compared again from what the
    /// engine remembers it holds, not from what it holds, so an object `hagroup synchronize`
    /// gave it meanwhile is copied a second time (D7, D8; I1).
    GapsFromMemory,
    /// A rejoining member's data objects are compared by id but copied again anyway: its own
    /// copy is destroyed and cloned from another holder, so a change made on it outside the
    /// group (B21) is silently undone and the copies agree again (B22, D64; I10).
    RecloneHeldData,
    /// LunaCM's `hagroup synchronize` copies a data object over every other member's copy by
    /// id (from the first member holding it) instead of only to members that lack it, so a
    /// change made outside the group is silently spread or undone (D8, B22, D64; I10).
    /// Planted in the harness, which builds LunaCM.
    SyncOverwritesById,
}

impl PlantedBug {
    /// Every planted bug.
    pub const ALL: [PlantedBug; 13] = [
        PlantedBug::MiscountAttempts,
        PlantedBug::FalseTotalLoss,
        PlantedBug::DropWrongMember,
        PlantedBug::StandbyServes,
        PlantedBug::IgnoreRetryLimit,
        PlantedBug::KeepLoginOnLogout,
        PlantedBug::StaleSourceHandle,
        PlantedBug::NewMemberNotReconciledAtLogin,
        PlantedBug::RemovedMemberUnlisted,
        PlantedBug::LunacmBorrowsLogin,
        PlantedBug::GapsFromMemory,
        PlantedBug::RecloneHeldData,
        PlantedBug::SyncOverwritesById,
    ];
}
