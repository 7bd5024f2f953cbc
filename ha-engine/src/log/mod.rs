//! HA log (placeholder: being written).
