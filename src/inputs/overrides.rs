//! The overrides file (`--overrides`): how a human settles an `error` finding
//! (docs/MAPPING.md, section Overrides). A YAML mapping keyed by the principal as written
//! in aws-auth (`sso:ACCOUNT:PERMISSIONSET` for an `sso` matcher).

use std::collections::HashMap;

use super::{documents, invalid, source_at, string_list, InputError};
use crate::model::entry::{AccessPolicy, AccessScope, EntryType, ScopeType};
use crate::model::finding::Source;
use crate::yaml::Node;

/// One human decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The principal as written in aws-auth.
    pub key: String,
    /// Accept that the principal gets no entry.
    pub drop: bool,
    pub entry_type: Option<EntryType>,
    pub principal_arn: Option<String>,
    pub username: Option<String>,
    pub kubernetes_groups: Option<Vec<String>>,
    pub access_policies: Option<Vec<AccessPolicy>>,
    pub source: Source,
}

/// Every override given, by key.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub by_key: HashMap<String, Override>,
}

const FIELDS: &str = "drop, type, principalArn, username, kubernetesGroups, accessPolicies";

impl Overrides {
    /// Adds the overrides in one file; a key given twice is an error.
    ///
    /// # Errors
    /// [`InputError`] naming the line of any malformed override.
    pub fn add_file(&mut self, file: &str, bytes: &[u8]) -> Result<(), InputError> {
        for doc in documents(file, bytes)? {
            if doc.is_null() {
                continue;
            }
            let entries = doc.as_map().ok_or_else(|| {
                invalid(
                    file,
                    doc.line,
                    "overrides must be a mapping keyed by principal ARN",
                )
            })?;
            for (k, v) in entries {
                let o = parse_one(file, k, v)?;
                if let Some(prev) = self.by_key.get(&o.key) {
                    return Err(invalid(
                        file,
                        k.line,
                        format!("`{}` is overridden again (first at {})", o.key, prev.source),
                    ));
                }
                self.by_key.insert(o.key.clone(), o);
            }
        }
        Ok(())
    }
}

fn parse_one(file: &str, key: &Node, value: &Node) -> Result<Override, InputError> {
    let name = key
        .as_str()
        .ok_or_else(|| invalid(file, key.line, "an override key must be a principal ARN"))?;
    let fields = value.as_map().ok_or_else(|| {
        invalid(
            file,
            value.line,
            format!("the override for `{name}` must be a mapping of {FIELDS}"),
        )
    })?;
    let mut o = Override {
        key: name.to_string(),
        drop: false,
        entry_type: None,
        principal_arn: None,
        username: None,
        kubernetes_groups: None,
        access_policies: None,
        source: source_at(file, key),
    };
    let text = |n: &Node, f: &str| {
        n.as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid(file, n.line, format!("`{f}` must be a string")))
    };
    for (f, v) in fields {
        match f.key_text() {
            "drop" => {
                o.drop = match v.scalar().map(|s| s.text.as_str()) {
                    Some("true") => true,
                    Some("false") => false,
                    _ => return Err(invalid(file, v.line, "`drop` must be true or false")),
                }
            }
            "type" => {
                let t = text(v, "type")?;
                o.entry_type = Some(EntryType::from_name(&t).ok_or_else(|| {
                    invalid(
                        file,
                        v.line,
                        format!(
                            "unknown type `{t}`; one of {}",
                            EntryType::ALL.map(EntryType::as_str).join(", ")
                        ),
                    )
                })?);
            }
            "principalArn" => o.principal_arn = Some(text(v, "principalArn")?),
            "username" => o.username = Some(text(v, "username")?),
            "kubernetesGroups" => {
                o.kubernetes_groups = Some(string_list(file, "kubernetesGroups", v)?)
            }
            "accessPolicies" => o.access_policies = Some(policies(file, v)?),
            other => {
                return Err(invalid(
                    file,
                    f.line,
                    format!("unknown override field `{other}`; expected {FIELDS}"),
                ))
            }
        }
    }
    Ok(o)
}

fn policies(file: &str, node: &Node) -> Result<Vec<AccessPolicy>, InputError> {
    let items = node
        .as_seq()
        .ok_or_else(|| invalid(file, node.line, "`accessPolicies` must be a list"))?;
    items
        .iter()
        .map(|p| {
            let arn = p
                .get("policyArn")
                .and_then(Node::as_str)
                .ok_or_else(|| invalid(file, p.line, "an access policy needs `policyArn`"))?;
            if !arn.contains(":eks::aws:cluster-access-policy/") {
                return Err(invalid(
                    file,
                    p.line,
                    format!("`{arn}` is not an EKS access policy ARN (arn:PARTITION:eks::aws:cluster-access-policy/NAME)"),
                ));
            }
            let scope = match p.get("accessScope") {
                None => AccessScope::cluster(),
                Some(s) => {
                    let t = s.get("type").and_then(Node::as_str).unwrap_or_default();
                    match t {
                        "cluster" => AccessScope::cluster(),
                        "namespace" => {
                            let ns = s.get("namespaces").ok_or_else(|| {
                                invalid(file, s.line, "a namespace scope needs `namespaces`")
                            })?;
                            let namespaces = string_list(file, "namespaces", ns)?;
                            if namespaces.is_empty() {
                                return Err(invalid(file, ns.line, "`namespaces` is empty"));
                            }
                            AccessScope {
                                scope_type: ScopeType::Namespace,
                                namespaces,
                            }
                        }
                        _ => {
                            return Err(invalid(
                                file,
                                s.line,
                                "`accessScope.type` must be cluster or namespace",
                            ))
                        }
                    }
                }
            };
            Ok(AccessPolicy {
                policy_arn: arn.to_string(),
                access_scope: scope,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field() {
        let text = r#"
arn:aws:iam::111122223333:role/Hybrid:
  type: HYBRID_LINUX
arn:aws:iam::111122223333:root:
  drop: true
sso:111122223333:Admin:
  principalArn: arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1
  username: admin:{{SessionName}}
  kubernetesGroups: [a]
  accessPolicies:
    - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy
      accessScope: {type: namespace, namespaces: [x]}
"#;
        let mut o = Overrides::default();
        o.add_file("o.yaml", text.as_bytes()).unwrap();
        assert_eq!(o.by_key.len(), 3);
        assert_eq!(
            o.by_key["arn:aws:iam::111122223333:role/Hybrid"].entry_type,
            Some(EntryType::HybridLinux)
        );
        assert!(o.by_key["arn:aws:iam::111122223333:root"].drop);
        let s = &o.by_key["sso:111122223333:Admin"];
        assert_eq!(
            s.access_policies.as_ref().unwrap()[0]
                .access_scope
                .namespaces,
            vec!["x"]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let mut o = Overrides::default();
        let err = o
            .add_file("o.yaml", b"arn:aws:iam::1:role/x:\n  type: BIG\n")
            .unwrap_err();
        assert!(err.to_string().starts_with("o.yaml:2:"), "{err}");
        let err = o
            .add_file("o.yaml", b"arn:aws:iam::1:role/x:\n  nmae: a\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown override field `nmae`"),
            "{err}"
        );
    }
}
