//! The steps: the ordered API changes that carry out a plan, each holding
//! everything needed to undo it (the previous username, groups, scope, the
//! whole previous aws-auth). `apply` journals a step before making it and
//! `rollback` undoes it from the journal alone. Also the projection of the
//! access entries after the steps, which the lockout guard checks. Pure.

use std::collections::HashMap;

use crate::model::arn::PrincipalArn;

use serde::{Deserialize, Serialize};

use crate::migrate::cleanup::{self, CleanupError};
use crate::model::cluster::{AuthMode, ConfigMapData, CurrentEntry, EksOwner};
use crate::model::entry::{AccessPolicy, AccessScope, EntryType};
use crate::planner::{Action, Plan};
use crate::reader::AwsAuth;

/// One change to the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Step {
    /// UpdateClusterConfig: cannot be undone (modes only move forward).
    #[serde(rename_all = "camelCase")]
    SwitchMode { from: AuthMode, to: AuthMode },
    /// CreateAccessEntry. Undone by deleting the entry, unless it already
    /// existed (then it was adopted, not created).
    #[serde(rename_all = "camelCase")]
    CreateEntry {
        principal_arn: PrincipalArn,
        #[serde(rename = "type")]
        entry_type: EntryType,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default)]
        kubernetes_groups: Vec<String>,
        /// EKS makes this entry itself; finding it there is expected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eks_owned: Option<EksOwner>,
    },
    /// UpdateAccessEntry of the fields that change (`None`: left as it is).
    /// Undone by setting the previous values back, while the entry still
    /// holds what this step set.
    #[serde(rename_all = "camelCase")]
    UpdateEntry {
        principal_arn: PrincipalArn,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kubernetes_groups: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_kubernetes_groups: Option<Vec<String>>,
    },
    /// AssociateAccessPolicy. Undone by disassociating it, or by associating
    /// the previous scope again.
    #[serde(rename_all = "camelCase")]
    AssociatePolicy {
        principal_arn: PrincipalArn,
        #[serde(flatten)]
        policy: AccessPolicy,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_scope: Option<AccessScope>,
    },
    /// Replaces aws-auth's data (the migrated mappings removed). Undone by
    /// putting `before` back, only while aws-auth still holds `after`.
    #[serde(rename_all = "camelCase")]
    ReplaceAwsAuth {
        before: ConfigMapData,
        after: ConfigMapData,
    },
}

impl Step {
    /// A one-line description, for progress and reports.
    /// Safe for a terminal: the values in it are escaped.
    pub fn describe(&self) -> String {
        let text = match self {
            Step::SwitchMode { from, to } => format!("switch authentication mode {from} -> {to}"),
            Step::CreateEntry {
                principal_arn,
                entry_type,
                ..
            } => format!("create {entry_type} access entry {principal_arn}"),
            Step::UpdateEntry { principal_arn, .. } => {
                format!("update access entry {principal_arn}")
            }
            Step::AssociatePolicy {
                principal_arn,
                policy,
                ..
            } => format!(
                "associate {} ({}) with {principal_arn}",
                policy.short_name(),
                policy.access_scope
            ),
            Step::ReplaceAwsAuth { .. } => {
                "remove the migrated mappings from kube-system/aws-auth".into()
            }
        };
        crate::model::untrusted::terminal(&text).into_owned()
    }

    /// The principal an entry step is about; `None` for a mode switch or the
    /// aws-auth edit.
    pub fn principal(&self) -> Option<&PrincipalArn> {
        match self {
            Step::CreateEntry { principal_arn, .. }
            | Step::UpdateEntry { principal_arn, .. }
            | Step::AssociatePolicy { principal_arn, .. } => Some(principal_arn),
            Step::SwitchMode { .. } | Step::ReplaceAwsAuth { .. } => None,
        }
    }

    /// True for the one step that can never be undone.
    pub fn is_irreversible(&self) -> bool {
        matches!(self, Step::SwitchMode { .. })
    }
}

/// What `apply` does besides creating entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extras {
    /// Remove the migrated mappings from aws-auth.
    pub cleanup_aws_auth: bool,
    /// Switch to `API` at the end (irreversible).
    pub target_api: bool,
}

/// The steps that carry out `plan`, in order: the switch to
/// `API_AND_CONFIG_MAP`, entries with their policies (in plan order), then,
/// when asked, the aws-auth cleanup and the switch to `API`.
///
/// `aws_auth` is the ConfigMap's current data and what the reader made of it;
/// it is needed only for the cleanup.
///
/// # Errors
/// [`CleanupError`] when the cleaned aws-auth does not read back as it must.
pub fn steps(
    plan: &Plan,
    aws_auth: Option<(&ConfigMapData, &AwsAuth)>,
    extras: Extras,
) -> Result<Vec<Step>, CleanupError> {
    let mut out = Vec::new();
    let mut mode = plan.current.mode;
    if let Some(c) = &plan.mode_change {
        out.push(Step::SwitchMode {
            from: c.from,
            to: c.to,
        });
        mode = c.to;
    }
    for action in &plan.actions {
        action_steps(action, &mut out);
    }
    if extras.cleanup_aws_auth {
        if let Some((data, read)) = aws_auth {
            let c = cleanup::cleaned(data, read, &cleanup::migrated(plan))?;
            if c.changes() {
                out.push(Step::ReplaceAwsAuth {
                    before: c.before,
                    after: c.after,
                });
            }
        }
    }
    if extras.target_api && mode != AuthMode::Api {
        out.push(Step::SwitchMode {
            from: mode,
            to: AuthMode::Api,
        });
    }
    Ok(out)
}

/// Appends the entry step of `action`, if any, and its policy associations to `out`.
fn action_steps(action: &Action, out: &mut Vec<Step>) {
    let (principal_arn, associate) = match action {
        Action::Create {
            principal_arn,
            entry_type,
            username,
            kubernetes_groups,
            associate,
            eks_owned,
            ..
        } => {
            out.push(Step::CreateEntry {
                principal_arn: principal_arn.clone(),
                entry_type: *entry_type,
                username: username.clone(),
                kubernetes_groups: kubernetes_groups.clone(),
                eks_owned: *eks_owned,
            });
            (principal_arn, associate)
        }
        Action::Update {
            principal_arn,
            username,
            kubernetes_groups,
            associate,
            ..
        } => {
            out.push(Step::UpdateEntry {
                principal_arn: principal_arn.clone(),
                username: username.as_ref().and_then(|c| c.to.clone()),
                kubernetes_groups: kubernetes_groups.as_ref().map(|c| c.to.clone()),
                previous_username: username.as_ref().and_then(|c| c.from.clone()),
                previous_kubernetes_groups: kubernetes_groups.as_ref().map(|c| c.from.clone()),
            });
            (principal_arn, associate)
        }
        Action::Associate {
            principal_arn,
            associate,
            ..
        } => (principal_arn, associate),
        Action::Adopt { .. } | Action::None { .. } => return,
    };
    for a in associate {
        out.push(Step::AssociatePolicy {
            principal_arn: principal_arn.clone(),
            policy: a.policy.clone(),
            previous_scope: a.previous_scope.clone(),
        });
    }
}

/// What undoing `changes` (newest last; undone newest first) would leave,
/// from the access entries and aws-auth data as they are now: each created
/// entry deleted, each update set back, each policy association set back or
/// removed, aws-auth's changed keys put back. Mode switches stay.
pub fn unproject(
    entries: &[CurrentEntry],
    data: Option<&ConfigMapData>,
    changes: &[&Step],
) -> (Vec<CurrentEntry>, Option<ConfigMapData>) {
    let mut out = entries.to_vec();
    let mut data = data.cloned();
    for s in changes.iter().rev() {
        let find = |out: &[CurrentEntry], arn: &PrincipalArn| {
            out.iter().position(|e| e.principal_arn == *arn)
        };
        match s {
            Step::CreateEntry { principal_arn, .. } => {
                out.retain(|e| e.principal_arn != *principal_arn);
            }
            Step::UpdateEntry {
                principal_arn,
                previous_username,
                previous_kubernetes_groups,
                ..
            } => {
                if let Some(i) = find(&out, principal_arn) {
                    if let Some(u) = previous_username {
                        out[i].username = Some(u.clone());
                    }
                    if let Some(g) = previous_kubernetes_groups {
                        out[i].kubernetes_groups = g.clone();
                    }
                }
            }
            Step::AssociatePolicy {
                principal_arn,
                policy,
                previous_scope,
            } => {
                if let Some(i) = find(&out, principal_arn) {
                    let e = &mut out[i];
                    e.access_policies
                        .retain(|p| p.policy_arn != policy.policy_arn);
                    if let Some(scope) = previous_scope {
                        e.access_policies.push(AccessPolicy {
                            policy_arn: policy.policy_arn.clone(),
                            access_scope: scope.clone(),
                        });
                    }
                }
            }
            Step::ReplaceAwsAuth { before, after } => {
                let now = data.get_or_insert_with(ConfigMapData::new);
                for k in before.keys().chain(after.keys()) {
                    if before.get(k) == after.get(k) || now.get(k) != after.get(k) {
                        continue;
                    }
                    match before.get(k) {
                        Some(v) => now.insert(k.clone(), v.clone()),
                        None => now.remove(k),
                    };
                }
            }
            Step::SwitchMode { .. } => {}
        }
    }
    (out, data)
}

/// The access entries after `steps` succeed, starting from `entries`.
pub fn project(entries: &[CurrentEntry], steps: &[Step]) -> Vec<CurrentEntry> {
    let mut out = entries.to_vec();
    // Each principal's first entry, by position: looked up, not searched.
    let mut at: HashMap<PrincipalArn, usize> = HashMap::new();
    for (i, e) in out.iter().enumerate() {
        at.entry(e.principal_arn.clone()).or_insert(i);
    }
    let find = |at: &HashMap<PrincipalArn, usize>, arn: &PrincipalArn| at.get(arn).copied();
    for s in steps {
        match s {
            Step::CreateEntry {
                principal_arn,
                entry_type,
                username,
                kubernetes_groups,
                eks_owned,
            } => {
                if find(&at, principal_arn).is_none() {
                    at.insert(principal_arn.clone(), out.len());
                    out.push(CurrentEntry {
                        principal_arn: principal_arn.clone(),
                        entry_type: *entry_type,
                        username: username.clone(),
                        kubernetes_groups: kubernetes_groups.clone(),
                        access_policies: Vec::new(),
                        eks_owned: *eks_owned,
                    });
                }
            }
            Step::UpdateEntry {
                principal_arn,
                username,
                kubernetes_groups,
                ..
            } => {
                if let Some(i) = find(&at, principal_arn) {
                    if let Some(u) = username {
                        out[i].username = Some(u.clone());
                    }
                    if let Some(g) = kubernetes_groups {
                        out[i].kubernetes_groups = g.clone();
                    }
                }
            }
            Step::AssociatePolicy {
                principal_arn,
                policy,
                ..
            } => {
                if let Some(i) = find(&at, principal_arn) {
                    let e = &mut out[i];
                    e.access_policies
                        .retain(|p| p.policy_arn != policy.policy_arn);
                    e.access_policies.push(policy.clone());
                }
            }
            Step::SwitchMode { .. } | Step::ReplaceAwsAuth { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::Current;
    use crate::reader;

    const AWS_AUTH: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/admin
      username: admin
      groups: [system:masters]
    - rolearn: arn:aws:iam::111122223333:role/ops
      username: ops:{{SessionName}}
      groups: [ops-team]
  mapUsers: |
    - userarn: arn:aws:iam::111122223333:user/alice
      username: alice
      groups: [system:masters]
  mapAccounts: |
    - "444455556666"
"#;

    fn data_of(text: &str) -> ConfigMapData {
        // The test ConfigMap's data, as the API would hold it.
        let mut d = ConfigMapData::new();
        let mut key = None;
        for line in text.lines() {
            if let Some(k) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(": |")) {
                key = Some(k.to_string());
                d.insert(k.to_string(), String::new());
            } else if let (Some(k), Some(body)) = (&key, line.strip_prefix("    ")) {
                let v = d.get_mut(k).expect("key");
                v.push_str(body);
                v.push('\n');
            }
        }
        d
    }

    fn plan_of(text: &str) -> (Plan, AwsAuth) {
        let read = reader::read("aws-auth.yaml", text.as_bytes()).expect("reads");
        let plan = crate::plan_aws_auth_only("aws-auth.yaml", text.as_bytes(), Default::default())
            .expect("plans");
        (plan, read)
    }

    #[test]
    fn steps_follow_the_plan_in_order() {
        let (plan, read) = plan_of(AWS_AUTH);
        let data = data_of(AWS_AUTH);
        let steps = steps(
            &plan,
            Some((&data, &read)),
            Extras {
                cleanup_aws_auth: true,
                target_api: true,
            },
        )
        .expect("verified");
        let kinds: Vec<String> = steps
            .iter()
            .map(|s| {
                s.describe()
                    .split(' ')
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "switch authentication",
                "create STANDARD",
                "associate AmazonEKSClusterAdminPolicy",
                "create STANDARD",
                "create STANDARD",
                "associate AmazonEKSClusterAdminPolicy",
                "remove the",
                "switch authentication",
            ]
        );
        assert_eq!(
            steps.last(),
            Some(&Step::SwitchMode {
                from: AuthMode::ApiAndConfigMap,
                to: AuthMode::Api
            })
        );
    }

    #[test]
    fn cleanup_keeps_what_was_not_migrated_and_never_touches_map_accounts() {
        let (mut plan, read) = plan_of(AWS_AUTH);
        // Pretend ops could not be migrated.
        plan.actions
            .retain(|a| !a.principal().ends_with("role/ops"));
        let data = data_of(AWS_AUTH);
        let after = cleanup::cleaned(&data, &read, &cleanup::migrated(&plan))
            .expect("verified")
            .after;
        assert!(!after.contains_key("mapUsers"), "{after:?}");
        assert_eq!(after["mapAccounts"], data["mapAccounts"]);
        let roles = &after["mapRoles"];
        // The kept item, exactly as written.
        assert_eq!(
            roles,
            "- rolearn: arn:aws:iam::111122223333:role/ops\n  username: ops:{{SessionName}}\n  groups: [ops-team]\n"
        );
        // What is left reads back to the same mapping.
        let mut cm = data.clone();
        cm.insert("mapRoles".into(), roles.clone());
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: {}\n",
            serde_json::to_string(roles).unwrap()
        );
        let again = reader::read("after", text.as_bytes()).expect("reads back");
        assert_eq!(again.mappings.len(), 1);
        assert_eq!(
            again.mappings[0].username.as_deref(),
            Some("ops:{{SessionName}}")
        );
        assert_eq!(again.mappings[0].groups, ["ops-team"]);
    }

    #[test]
    fn projection_applies_updates_to_existing_entries() {
        let existing = CurrentEntry {
            principal_arn: "arn:aws:iam::111122223333:role/dev".into(),
            entry_type: EntryType::Standard,
            username: Some("old".into()),
            kubernetes_groups: vec!["x".into()],
            access_policies: Vec::new(),
            eks_owned: None,
        };
        let steps = vec![
            Step::UpdateEntry {
                principal_arn: "arn:aws:iam::111122223333:role/DEV".into(),
                username: Some("new".into()),
                kubernetes_groups: None,
                previous_username: Some("old".into()),
                previous_kubernetes_groups: None,
            },
            Step::UpdateEntry {
                principal_arn: existing.principal_arn.clone(),
                username: None,
                kubernetes_groups: Some(vec!["y".into()]),
                previous_username: None,
                previous_kubernetes_groups: Some(vec!["x".into()]),
            },
        ];
        let after = project(std::slice::from_ref(&existing), &steps);
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].username.as_deref(), Some("new"));
        assert_eq!(after[0].kubernetes_groups, ["y"]);
    }

    #[test]
    fn projection_applies_creates_updates_and_associations() {
        let (plan, _) = plan_of(AWS_AUTH);
        let steps = steps(&plan, None, Extras::default()).expect("no cleanup");
        let after = project(&Current::assumed().entries, &steps);
        assert_eq!(after.len(), 3);
        let admin = after
            .iter()
            .find(|e| e.principal_arn.ends_with("role/admin"))
            .expect("admin entry");
        assert_eq!(admin.access_policies.len(), 1);
    }
}
