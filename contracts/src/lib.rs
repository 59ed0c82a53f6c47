//! DGCM protocol v1 in Rust: typed boxes, codecs and transaction builders (in progress; see ../PROTOCOL.md).
