//! memfs (placeholder: being written).
