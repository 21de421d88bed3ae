//! IAM dumps as `aws iam list-roles` and `aws iam list-users` print them (JSON or
//! `--output yaml`), used offline to restore role paths (docs/MAPPING.md row 12), to
//! tell missing principals (row 14) and to expand `sso` matchers (row 15).
//!
//! A dump covers an account for roles (or users) when it lists at least one of
//! them there and is not truncated; only then is absence from it meaningful.

use std::collections::{HashMap, HashSet};

use super::{documents, invalid, InputError};
use crate::model::arn::{Arn, PrincipalKind};
use crate::yaml::Node;

/// Roles or users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IamKind {
    Role,
    User,
}

/// Where a known principal's real ARN comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownFrom {
    /// An `--iam-file` dump.
    IamFile,
    /// An access entry that already exists (EKS accepted that ARN).
    ExistingEntry,
    /// A live IAM call (GetRole, GetUser, ListRoles).
    IamApi,
}

impl KnownFrom {
    /// In words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            KnownFrom::IamFile => "the IAM dump",
            KnownFrom::ExistingEntry => "the existing access entry",
            KnownFrom::IamApi => "IAM",
        }
    }
}

/// A principal whose real ARN is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub arn: Arn,
    pub from: KnownFrom,
}

/// The principals listed in every IAM file given, and those of existing entries.
#[derive(Debug, Clone, Default)]
pub struct IamDump {
    /// By (account + lower-cased name, kind).
    by_name: HashMap<(String, IamKind), Known>,
    covered: HashSet<(String, IamKind)>,
    /// Principals a live lookup did not find.
    absent: HashSet<(String, IamKind)>,
    /// Accounts whose IAM Identity Center roles were listed live.
    sso_listed: HashSet<String>,
    /// Accounts where IAM refused a lookup (AccessDenied).
    denied: HashSet<String>,
    /// Accounts whose IAM a live plan asked.
    consulted: HashSet<String>,
    /// How many IAM files were given.
    files: usize,
    roles: Vec<Arn>,
}

impl IamDump {
    /// Adds the roles or users listed in one file.
    ///
    /// # Errors
    /// [`InputError`] when the file is not YAML/JSON or not a list-roles /
    /// list-users output.
    pub fn add_file(&mut self, file: &str, bytes: &[u8]) -> Result<(), InputError> {
        self.files += 1;
        for doc in documents(file, bytes)? {
            let lists: Vec<(&Node, IamKind)> = [("Roles", IamKind::Role), ("Users", IamKind::User)]
                .into_iter()
                .filter_map(|(k, kind)| doc.get(k).map(|n| (n, kind)))
                .collect();
            if lists.is_empty() {
                return Err(invalid(
                    file,
                    doc.line,
                    "expected the output of `aws iam list-roles` or `aws iam list-users` (a `Roles` or `Users` list)",
                ));
            }
            for (list, kind) in lists {
                self.add_list(file, &doc, list, kind)?;
            }
        }
        Ok(())
    }

    fn add_list(
        &mut self,
        file: &str,
        doc: &Node,
        list: &Node,
        kind: IamKind,
    ) -> Result<(), InputError> {
        {
            let items = list
                .as_seq()
                .ok_or_else(|| invalid(file, list.line, "`Roles`/`Users` must be a list"))?;
            let truncated = doc
                .get("IsTruncated")
                .and_then(|n| n.scalar())
                .is_some_and(|s| s.text == "true")
                || doc.get("NextToken").is_some_and(|n| !n.is_null())
                || doc.get("Marker").is_some_and(|n| !n.is_null());
            for item in items {
                let arn_node = item
                    .get("Arn")
                    .ok_or_else(|| invalid(file, item.line, "an item has no `Arn`"))?;
                let text = arn_node.as_str().unwrap_or_default();
                let arn = Arn::parse(text).map_err(|e| {
                    invalid(
                        file,
                        arn_node.line,
                        format!("`Arn` {text:?} is not valid: {e}"),
                    )
                })?;
                let ok = match kind {
                    IamKind::Role => arn.is_role(),
                    IamKind::User => arn.kind == PrincipalKind::User,
                };
                if !ok {
                    return Err(invalid(
                        file,
                        arn_node.line,
                        format!("`{text}` is not a {kind:?} ARN"),
                    ));
                }
                if !truncated {
                    self.covered.insert((arn.account.clone(), kind));
                }
                if kind == IamKind::Role {
                    self.roles.push(arn.clone());
                }
                self.by_name.insert(
                    key(&arn, kind),
                    Known {
                        arn,
                        from: KnownFrom::IamFile,
                    },
                );
            }
        }
        Ok(())
    }

    /// Records the ARN of an existing access entry: EKS accepted it, so it is
    /// the principal's real ARN. An IAM dump's word wins; coverage is unchanged.
    pub fn add_existing(&mut self, principal_arn: &str) {
        let Ok(arn) = Arn::parse(principal_arn) else {
            return;
        };
        let kind = match arn.kind {
            PrincipalKind::Role => IamKind::Role,
            PrincipalKind::User => IamKind::User,
            _ => return,
        };
        self.by_name.entry(key(&arn, kind)).or_insert(Known {
            arn,
            from: KnownFrom::ExistingEntry,
        });
    }

    /// Records what a live lookup found; IAM's word wins over everything else.
    pub fn add_found(&mut self, arn: Arn) {
        let kind = if arn.kind == PrincipalKind::User {
            IamKind::User
        } else {
            IamKind::Role
        };
        self.by_name.insert(
            key(&arn, kind),
            Known {
                arn,
                from: KnownFrom::IamApi,
            },
        );
    }

    /// Records that a live lookup found no `kind` named `name` in `account`.
    pub fn add_absent(&mut self, kind: IamKind, account: &str, name: &str) {
        self.absent
            .insert((format!("{account}:{}", name.to_lowercase()), kind));
    }

    /// Records that a live plan asked IAM in `account`.
    pub fn add_consulted(&mut self, account: &str) {
        self.consulted.insert(account.to_string());
    }

    /// True when a live plan asked IAM, but not in `account`.
    pub fn not_consulted(&self, account: &str) -> bool {
        !self.consulted.is_empty() && !self.consulted.contains(account)
    }

    /// Records that IAM refused a lookup in `account`.
    pub fn add_denied(&mut self, account: &str) {
        self.denied.insert(account.to_string());
    }

    /// True when IAM refused a lookup in `account`.
    pub fn was_denied(&self, account: &str) -> bool {
        self.denied.contains(account)
    }

    /// True when a live lookup found no such principal.
    pub fn is_absent(&self, kind: IamKind, account: &str, name: &str) -> bool {
        self.absent
            .contains(&(format!("{account}:{}", name.to_lowercase()), kind))
    }

    /// Records the IAM Identity Center roles of `account`, listed live.
    pub fn add_sso_listing(&mut self, account: &str, roles: Vec<Arn>) {
        self.sso_listed.insert(account.to_string());
        for arn in roles {
            self.roles.push(arn.clone());
            self.add_found(arn);
        }
    }

    /// True when the IAM Identity Center roles of `account` are all known.
    pub fn sso_complete(&self, account: &str) -> bool {
        self.sso_listed.contains(account) || self.covers(IamKind::Role, account)
    }

    /// The known principal of `kind` named `name` in `account` (names are
    /// case-insensitive in IAM).
    pub fn lookup(&self, kind: IamKind, account: &str, name: &str) -> Option<&Known> {
        self.by_name
            .get(&(format!("{account}:{}", name.to_lowercase()), kind))
    }

    /// What live lookups found, as `aws iam list-roles` / `list-users` would
    /// print it, so an offline plan can use the same facts.
    pub fn found_as_json(&self) -> serde_json::Value {
        let mut roles = Vec::new();
        let mut users = Vec::new();
        let mut known: Vec<&Known> = self
            .by_name
            .values()
            .filter(|k| k.from == KnownFrom::IamApi)
            .collect();
        known.sort_by_key(|k| k.arn.to_string());
        for k in known {
            let item = |name_key: &str| serde_json::json!({"Path": k.arn.path, name_key: k.arn.name, "Arn": k.arn.to_string()});
            if k.arn.kind == PrincipalKind::User {
                users.push(item("UserName"));
            } else {
                roles.push(item("RoleName"));
            }
        }
        serde_json::json!({"Roles": roles, "Users": users})
    }

    /// True when an IAM file was given (its principals, if any, are known).
    pub fn has_files(&self) -> bool {
        self.files > 0
    }

    /// True when a complete list of `kind` in `account` was given.
    pub fn covers(&self, kind: IamKind, account: &str) -> bool {
        self.covered.contains(&(account.to_string(), kind))
    }

    /// IAM Identity Center roles of `account` for permission set `set`
    /// (`AWSReservedSSO_<set>_*` under `/aws-reserved/sso.amazonaws.com/`).
    pub fn sso_roles(&self, account: &str, set: &str) -> Vec<&Arn> {
        let prefix = format!("AWSReservedSSO_{set}_");
        let mut found: Vec<&Arn> = self
            .roles
            .iter()
            .filter(|a| {
                a.account == account
                    && a.path.starts_with("/aws-reserved/sso.amazonaws.com/")
                    && a.name.starts_with(&prefix)
                    && a.name.len() > prefix.len()
            })
            .collect();
        found.sort_by_key(|a| a.to_string());
        found.dedup();
        found
    }
}

fn key(arn: &Arn, kind: IamKind) -> (String, IamKind) {
    (format!("{}:{}", arn.account, arn.name.to_lowercase()), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: &str = r#"{
  "Roles": [
    {"Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/", "RoleName": "AWSReservedSSO_Admin_0123456789abcdef",
     "Arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef"},
    {"Path": "/", "RoleName": "NodeRole", "Arn": "arn:aws:iam::111122223333:role/NodeRole"}
  ]
}"#;

    #[test]
    fn restores_paths_case_insensitively_and_knows_coverage() {
        let mut d = IamDump::default();
        d.add_file("roles.json", ROLES.as_bytes()).unwrap();
        let a = d
            .lookup(
                IamKind::Role,
                "111122223333",
                "awsreservedsso_admin_0123456789ABCDEF",
            )
            .unwrap();
        assert_eq!(a.arn.path, "/aws-reserved/sso.amazonaws.com/eu-west-1/");
        assert_eq!(a.from, KnownFrom::IamFile);
        assert!(d.covers(IamKind::Role, "111122223333"));
        assert!(!d.covers(IamKind::Role, "444455556666"));
        assert!(!d.covers(IamKind::User, "111122223333"));
        assert_eq!(d.sso_roles("111122223333", "Admin").len(), 1);
        assert!(d.sso_roles("111122223333", "Adm").is_empty());
    }

    #[test]
    fn existing_entries_give_paths_but_not_coverage_and_never_override_iam() {
        let mut d = IamDump::default();
        d.add_file("roles.json", ROLES.as_bytes()).unwrap();
        d.add_existing("arn:aws:iam::111122223333:role/other/NodeRole");
        d.add_existing("arn:aws:iam::444455556666:role/ci/deployer");
        let node = d.lookup(IamKind::Role, "111122223333", "NodeRole").unwrap();
        assert_eq!(
            (node.arn.path.as_str(), node.from),
            ("/", KnownFrom::IamFile)
        );
        let ci = d.lookup(IamKind::Role, "444455556666", "Deployer").unwrap();
        assert_eq!(
            (ci.arn.path.as_str(), ci.from),
            ("/ci/", KnownFrom::ExistingEntry)
        );
        assert!(!d.covers(IamKind::Role, "444455556666"));
    }

    #[test]
    fn truncated_dumps_cover_nothing() {
        let mut d = IamDump::default();
        let text = ROLES.replacen('{', "{\"IsTruncated\": true, ", 1);
        d.add_file("roles.json", text.as_bytes()).unwrap();
        assert!(!d.covers(IamKind::Role, "111122223333"));
    }

    #[test]
    fn other_documents_are_refused() {
        let err = IamDump::default()
            .add_file("x.json", b"{\"Groups\": []}")
            .unwrap_err();
        assert!(err.to_string().contains("aws iam list-roles"), "{err}");
    }
}
