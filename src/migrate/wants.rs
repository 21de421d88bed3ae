//! What a migration wants, entry by entry, whatever is already there: the
//! access entries (with their policies) that replace aws-auth, which of
//! them stay as they are (`--keep-existing-entries`) or are EKS's to make,
//! and the `error` findings that stand. `export` writes it as code; the
//! plan file carries it, so that `export PLAN_FILE` writes exactly the
//! reviewed plan. Pure.

use serde::{Deserialize, Serialize};

use crate::model::arn::PrincipalArn;
use crate::model::entry::{AccessPolicy, EntryType};
use crate::model::finding::Severity;
use crate::planner::{Action, Plan};

/// One entry the migration wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WantedEntry {
    pub principal_arn: PrincipalArn,
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub kubernetes_groups: Vec<String>,
    pub access_policies: Vec<AccessPolicy>,
    /// The existing entry stays as it is (`--keep-existing-entries`).
    pub kept: bool,
    /// EKS makes this entry itself when the cluster leaves `CONFIG_MAP`.
    pub made_by_eks: bool,
}

/// An `error` finding that stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandingError {
    /// The principal it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_arn: Option<String>,
    pub message: String,
}

/// What a migration wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wants {
    /// Where the plan read aws-auth (a file's name, `kube-system/aws-auth`).
    pub from: String,
    /// In the plan's order.
    pub entries: Vec<WantedEntry>,
    pub errors: Vec<StandingError>,
}

impl Wants {
    /// What `plan` wants.
    pub fn of(plan: &Plan) -> Wants {
        let mine = |arn: &PrincipalArn, d: &PrincipalArn| arn == d;
        let kept = |d: &PrincipalArn| {
            plan.actions.iter().any(|a| {
                matches!(a, Action::Adopt { principal_arn, kept: true, .. } if mine(principal_arn, d))
            })
        };
        let made_by_eks = |d: &PrincipalArn| {
            plan.actions.iter().any(|a| {
                matches!(a, Action::Create { principal_arn, eks_owned: Some(_), .. } if mine(principal_arn, d))
            })
        };
        let entries = plan
            .desired
            .iter()
            .map(|d| WantedEntry {
                principal_arn: d.principal_arn.clone(),
                entry_type: d.entry_type,
                username: d.username.clone(),
                kubernetes_groups: d.kubernetes_groups.clone(),
                access_policies: d.access_policies.clone(),
                kept: kept(&d.principal_arn),
                made_by_eks: made_by_eks(&d.principal_arn),
            })
            .collect();
        let errors = plan
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| StandingError {
                principal_arn: f.principal_arn.clone(),
                message: f.message.clone(),
            })
            .collect();
        Wants {
            from: plan.aws_auth_file.clone(),
            entries,
            errors,
        }
    }
}
