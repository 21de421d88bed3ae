//! The JSON contract for scripts (`--output json`), `schemaVersion: 1`.
//! Field names follow the EKS API; the README documents every field.
//! Fields may be added within a schema version, never renamed or removed.

use serde::Serialize;

use crate::model::cluster::AuthMode;
use crate::model::entry::DesiredEntry;
use crate::model::finding::Finding;
use crate::planner::{Action, Change, ClusterFacts, Origin, Plan, Summary};

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    schema_version: u32,
    aws_auth_file: &'a str,
    cluster: &'a ClusterFacts,
    current_state: CurrentState<'a>,
    authentication_mode: Option<&'a Change<AuthMode>>,
    desired: &'a [DesiredEntry],
    actions: &'a [Action],
    findings: &'a [Finding],
    summary: &'a Summary,
    /// With `--cleanup-aws-auth`: the aws-auth the cleanup leaves.
    #[serde(skip_serializing_if = "Option::is_none")]
    aws_auth_cleanup: Option<super::cleanup::Json<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CurrentState<'a> {
    #[serde(flatten)]
    origin: &'a Origin,
    authentication_mode: AuthMode,
    access_entries: usize,
}

/// Renders the plan as pretty-printed JSON with a trailing newline.
pub fn render(plan: &Plan) -> String {
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        aws_auth_file: &plan.aws_auth_file,
        cluster: &plan.cluster,
        current_state: CurrentState {
            origin: &plan.current.origin,
            authentication_mode: plan.current.mode,
            access_entries: plan.current.entries.len() + plan.current.undescribed.len(),
        },
        authentication_mode: plan.mode_change.as_ref(),
        desired: &plan.desired,
        actions: &plan.actions,
        findings: &plan.findings,
        summary: &plan.summary,
        aws_auth_cleanup: plan.aws_auth_cleanup.as_ref().map(super::cleanup::json),
    };
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        // Serialising plain data with string keys cannot fail; say so if it does.
        format!("{{\"error\": \"could not serialise the plan: {e}\"}}")
    });
    out.push('\n');
    out
}
