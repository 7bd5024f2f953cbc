//! The timeline of a run: one self-contained HTML page (inline SVG and CSS, no script, nothing
//! fetched from anywhere) drawn from the run's [`Record`] and nothing else, so the same record
//! always gives the same bytes. `hasim run FILE --timeline out.html` writes it; any other reader
//! of a record (`hasim replay`) calls [`render`].
//!
//! - [`model`]: what is drawn, derived from the record (member states, injected faults, calls,
//!   HA log marks).
//! - [`axis`]: virtual time to pixels, long quiet stretches cut short.
//! - [`html`]: the page.

pub mod axis;
pub mod html;
pub mod model;

use sim::record::Record;

/// The timeline page of a run.
pub fn render(record: &Record) -> String {
    html::page(&model::derive(record))
}
