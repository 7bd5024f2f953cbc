//! The HA log (`haErrorLog.txt`, spec §1.13, §4, D1, D15, D16): owns the message catalogue with
//! the exact vendor templates ([`catalogue`]), the `ctime()`-style line prefix and rotation stamp
//! ([`prefix`]), and the file writer with its settings and size-based rotation ([`writer`]).
//!
//! Deciding *when* a message is logged belongs to the engine; this module only decides how it
//! reads and where it goes.

pub mod catalogue;
pub mod prefix;
pub mod writer;

pub use catalogue::{CATALOGUE, HaLogMessage, TemplateEntry, template_by_id};
pub use prefix::{ctime, line_prefix, rotation_stamp};
pub use writer::{DEFAULT_MAX_LEN, HaLogSettings, HaLogWriter, LOG_FILE_NAME, WriteOutcome};
