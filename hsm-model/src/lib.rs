//! hsm-model (placeholder: being written).
