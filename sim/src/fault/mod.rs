//! Faults: the vocabulary ([`kind`]), and the injector that applies them below the `Member`
//! port ([`injector`]). The engine is never told a member failed (D19).

pub mod injector;
pub mod kind;

pub use injector::{
    AnswerLost, CallMeter, CallRecord, FaultControl, FaultyMember, MemberFailure, drops_member,
};
pub use kind::{CallKind, Fault, MemberFault};
