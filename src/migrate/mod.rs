//! From a plan to checked steps, pure: [`steps`] turns a plan into the ordered
//! API changes (each carrying its undo), [`guard`] refuses steps that could
//! lock someone out, [`plan_file`] saves and checks a plan for a later
//! `apply`, and [`wants`] says what the migration wants entry by entry (for
//! `export`). Nothing here talks to a cluster; [`crate::apply`] does.

pub mod cleanup;
pub mod guard;
pub mod plan_file;
pub mod steps;
pub mod wants;
