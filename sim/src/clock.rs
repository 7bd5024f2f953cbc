//! clock (placeholder: being written).
