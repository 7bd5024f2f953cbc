//! model_member (placeholder: being written).
