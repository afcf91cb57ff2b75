//! What a backup is: its kinds, formats and names, values as the catalog records them, the
//! time zone its dates are read in, and the units durations and sizes are written in.

pub mod duration;
pub mod filters;
pub mod naming;
pub mod pattern;
pub mod recorded;
pub mod run;
pub mod units;
pub mod zone;
