//! What a backup is: its kinds, formats and names, the time zone its dates are read in,
//! and the units durations and sizes are written in.

pub mod duration;
pub mod naming;
pub mod units;
pub mod zone;
