//! Fuzzing placeholder.
