//! DGCM wallet actions.
