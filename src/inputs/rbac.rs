//! RBAC bindings as `kubectl get clusterroles,clusterrolebindings,roles,rolebindings
//! -A -o yaml` prints them: which groups are bound, and to what.
//!
//! Used for docs/MAPPING.md row 8 (groups no binding names) and for
//! `--policies-from-rbac` (groups bound only to one built-in ClusterRole).

use std::collections::BTreeSet;

use super::{documents, invalid, source_at, InputError};
use crate::model::entry::{AccessScope, ScopeType};
use crate::model::finding::Source;
use crate::yaml::Node;

/// A ClusterRoleBinding or a RoleBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `None` for a ClusterRoleBinding.
    pub namespace: Option<String>,
    pub name: String,
    /// `ClusterRole` or `Role`.
    pub role_kind: String,
    pub role_name: String,
    /// Subjects of kind Group.
    pub groups: Vec<String>,
    pub source: Source,
}

/// The built-in ClusterRoles with an access-policy counterpart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    ClusterAdmin,
    Admin,
    Edit,
    View,
}

impl BuiltinRole {
    fn from_name(name: &str) -> Option<BuiltinRole> {
        match name {
            "cluster-admin" => Some(BuiltinRole::ClusterAdmin),
            "admin" => Some(BuiltinRole::Admin),
            "edit" => Some(BuiltinRole::Edit),
            "view" => Some(BuiltinRole::View),
            _ => None,
        }
    }

    /// The ClusterRole's name.
    pub fn role_name(self) -> &'static str {
        match self {
            BuiltinRole::ClusterAdmin => "cluster-admin",
            BuiltinRole::Admin => "admin",
            BuiltinRole::Edit => "edit",
            BuiltinRole::View => "view",
        }
    }

    /// The nearest EKS access policy.
    pub fn policy_name(self) -> &'static str {
        match self {
            BuiltinRole::ClusterAdmin => "AmazonEKSClusterAdminPolicy",
            BuiltinRole::Admin => "AmazonEKSAdminPolicy",
            BuiltinRole::Edit => "AmazonEKSEditPolicy",
            BuiltinRole::View => "AmazonEKSViewPolicy",
        }
    }
}

/// All bindings read from the RBAC files.
#[derive(Debug, Clone, Default)]
pub struct Rbac {
    pub bindings: Vec<Binding>,
}

impl Rbac {
    /// Adds the bindings in one file.
    ///
    /// # Errors
    /// [`InputError`] when the file is not YAML/JSON or a binding is malformed.
    pub fn add_file(&mut self, file: &str, bytes: &[u8]) -> Result<(), InputError> {
        for doc in documents(file, bytes)? {
            self.add_object(file, &doc)?;
        }
        Ok(())
    }

    fn add_object(&mut self, file: &str, obj: &Node) -> Result<(), InputError> {
        let kind = obj.get("kind").and_then(Node::as_str).unwrap_or_default();
        match kind {
            "" if obj.is_null() => Ok(()),
            k if k.ends_with("List") => {
                for item in obj.get("items").and_then(Node::as_seq).unwrap_or_default() {
                    self.add_object(file, item)?;
                }
                Ok(())
            }
            "ClusterRoleBinding" | "RoleBinding" => {
                let meta = obj.get("metadata");
                let field = |n: Option<&Node>, k: &str| {
                    n.and_then(|n| n.get(k))
                        .and_then(Node::as_str)
                        .map(str::to_string)
                };
                let role_ref = obj
                    .get("roleRef")
                    .ok_or_else(|| invalid(file, obj.line, format!("{kind} has no roleRef")))?;
                let groups = obj
                    .get("subjects")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter(|s| s.get("kind").and_then(Node::as_str) == Some("Group"))
                    .filter_map(|s| field(Some(s), "name"))
                    .collect();
                self.bindings.push(Binding {
                    namespace: if kind == "RoleBinding" {
                        Some(field(meta, "namespace").unwrap_or_else(|| "default".into()))
                    } else {
                        None
                    },
                    name: field(meta, "name").unwrap_or_default(),
                    role_kind: field(Some(role_ref), "kind").unwrap_or_default(),
                    role_name: field(Some(role_ref), "name").unwrap_or_default(),
                    groups,
                    source: source_at(file, obj),
                });
                Ok(())
            }
            "ClusterRole" | "Role" => Ok(()),
            other => Err(invalid(
                file,
                obj.line,
                format!(
                    "expected RBAC objects (ClusterRoleBinding, RoleBinding, ...), found {}",
                    if other.is_empty() {
                        "an object with no kind"
                    } else {
                        other
                    }
                ),
            )),
        }
    }

    /// The bindings whose subjects include `group`.
    pub fn bindings_of<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Binding> + 'a {
        self.bindings
            .iter()
            .filter(move |b| b.groups.iter().any(|g| g == group))
    }

    /// The access policy that can stand in for `group` under `--policies-from-rbac`:
    /// every binding of the group points at the same built-in ClusterRole. A
    /// ClusterRoleBinding gives cluster scope; RoleBindings alone give their namespaces.
    pub fn policy_for_group(&self, group: &str) -> Option<(BuiltinRole, AccessScope)> {
        let mut role = None;
        let mut cluster = false;
        let mut namespaces = BTreeSet::new();
        for b in self.bindings_of(group) {
            if b.role_kind != "ClusterRole" {
                return None;
            }
            let r = BuiltinRole::from_name(&b.role_name)?;
            if role.is_some_and(|x| x != r) {
                return None;
            }
            role = Some(r);
            match &b.namespace {
                None => cluster = true,
                Some(ns) => {
                    namespaces.insert(ns.clone());
                }
            }
        }
        let scope = if cluster {
            AccessScope::cluster()
        } else {
            AccessScope {
                scope_type: ScopeType::Namespace,
                namespaces: namespaces.into_iter().collect(),
            }
        };
        role.map(|r| (r, scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: custom}
  rules: []
- kind: ClusterRoleBinding
  metadata: {name: ops-view}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
  subjects: [{kind: Group, name: ops}, {kind: User, name: bob}]
- kind: RoleBinding
  metadata: {name: ops-view-ns, namespace: apps}
  roleRef: {kind: ClusterRole, name: view}
  subjects: [{kind: Group, name: ops}]
- kind: RoleBinding
  metadata: {name: dev-edit, namespace: team-a}
  roleRef: {kind: ClusterRole, name: edit}
  subjects: [{kind: Group, name: dev}]
- kind: RoleBinding
  metadata: {name: dev-edit, namespace: team-b}
  roleRef: {kind: ClusterRole, name: edit}
  subjects: [{kind: Group, name: dev}]
- kind: RoleBinding
  metadata: {name: mixed, namespace: team-b}
  roleRef: {kind: Role, name: deployer}
  subjects: [{kind: Group, name: mixed}]
"#;

    fn rbac() -> Rbac {
        let mut r = Rbac::default();
        r.add_file("rbac.yaml", LIST.as_bytes()).unwrap();
        r
    }

    #[test]
    fn cluster_binding_wins_over_role_bindings() {
        let (role, scope) = rbac().policy_for_group("ops").unwrap();
        assert_eq!(role, BuiltinRole::View);
        assert_eq!(scope, AccessScope::cluster());
    }

    #[test]
    fn role_bindings_give_namespace_scope() {
        let (role, scope) = rbac().policy_for_group("dev").unwrap();
        assert_eq!(role, BuiltinRole::Edit);
        assert_eq!(scope.namespaces, vec!["team-a", "team-b"]);
    }

    #[test]
    fn custom_roles_and_unbound_groups_have_no_policy() {
        assert!(rbac().policy_for_group("mixed").is_none());
        assert!(rbac().policy_for_group("nobody").is_none());
        assert_eq!(rbac().bindings_of("bob").count(), 0, "users do not count");
    }

    #[test]
    fn other_kinds_are_refused_with_a_line() {
        let err = Rbac::default()
            .add_file("r.yaml", b"kind: Pod\nmetadata: {name: x}\n")
            .unwrap_err();
        assert!(err.to_string().starts_with("r.yaml:1:"), "{err}");
    }
}
