//! The domain's types, shared by both pipelines: principal ARNs ([`arn`]),
//! access entries, policies and scopes ([`entry`]), findings ([`finding`]), what
//! the aws-auth cleanup leaves ([`cleanup`]) and
//! the cluster's access configuration ([`cluster`]). No I/O; every other
//! module may depend on this one, and it depends on none of them.

pub mod arn;
pub mod cleanup;
pub mod cluster;
pub mod entry;
pub mod finding;
pub(crate) mod untrusted;
