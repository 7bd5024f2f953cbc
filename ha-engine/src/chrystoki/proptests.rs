//! Property tests of the configuration file model (filled below).
