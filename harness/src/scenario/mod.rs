//! scenario language (placeholder: being written).
