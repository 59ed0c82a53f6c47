//! DGCM bots: executor framework, matcher, settler, slasher, liquidator, Rosen relay.
