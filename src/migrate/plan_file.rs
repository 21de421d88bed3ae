//! The plan file: what `plan --out` writes, `apply FILE` carries out and
//! `export PLAN_FILE` writes as code. It holds the steps, what the migration
//! wants entry by entry, the guard's verdict, the options the plan was made with
//! (overrides included, as text), and the *basis*: the state the plan was
//! computed from (mode, aws-auth's data, every access entry) with its SHA-256
//! fingerprint. `apply` reads the live state again and refuses the plan when
//! the fingerprint differs, saying what changed, and when the steps are not
//! what the recorded options give for that state (an edited file: the
//! checksum is unkeyed, so it only catches accidents). Pure (the caller reads
//! and writes the bytes).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::migrate::steps::{self, Extras, Step};
use crate::migrate::wants::{WantedEntry, Wants};
use crate::model::arn::PrincipalArn;
use crate::model::cluster::ConfigMapData;
use crate::model::cluster::{AuthMode, CurrentEntry};

/// The only schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 3;
const KIND: &str = "migrate-auth-plan";

/// Why a plan file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON of the right shape.
    #[error("{file}: not a migrate-auth plan file: {message}")]
    Invalid { file: String, message: String },
    /// Another schema version.
    #[error("{file}: plan schemaVersion {found}; this build reads {SCHEMA_VERSION}: make the plan again with this build")]
    Version { file: String, found: u32 },
    /// A plan or its basis could not be serialised (a broken invariant).
    #[error("cannot serialise the plan: {message}")]
    Serialize { message: String },
}

fn serialize(e: serde_json::Error) -> PlanFileError {
    PlanFileError::Serialize {
        message: e.to_string(),
    }
}

/// The options a plan was made with, overrides as their text: enough to
/// make the same plan again from the same state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedOptions {
    pub expand_sso: bool,
    pub policies_from_rbac: bool,
    pub keep_existing_entries: bool,
    /// Each `--overrides` file: its name and its text.
    pub overrides: Vec<SavedFile>,
}

/// A file the plan read, by name, with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFile {
    pub name: String,
    pub text: String,
}

/// The state a plan was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Basis {
    pub authentication_mode: AuthMode,
    /// aws-auth's data; `None` when there is no aws-auth.
    pub aws_auth: Option<ConfigMapData>,
    /// Every access entry, sorted by principal ARN.
    pub access_entries: Vec<CurrentEntry>,
}

impl Basis {
    /// The basis of these facts (entries are sorted here).
    pub fn new(
        mode: AuthMode,
        aws_auth: Option<ConfigMapData>,
        mut entries: Vec<CurrentEntry>,
    ) -> Basis {
        entries.sort_by(|a, b| a.principal_arn.cmp(&b.principal_arn));
        Basis {
            authentication_mode: mode,
            aws_auth,
            access_entries: entries,
        }
    }

    /// SHA-256 of the basis's canonical JSON, in hex.
    ///
    /// # Errors
    /// [`PlanFileError::Serialize`] if the basis cannot be serialised.
    pub fn fingerprint(&self) -> Result<String, PlanFileError> {
        Ok(sha256_hex(&serde_json::to_vec(self).map_err(serialize)?))
    }

    /// What differs from `self` (the plan's) in `now`, in words.
    pub fn changes(&self, now: &Basis) -> Vec<String> {
        let mut out = Vec::new();
        if self.authentication_mode != now.authentication_mode {
            out.push(format!(
                "the authentication mode is {}, not {}",
                now.authentication_mode, self.authentication_mode
            ));
        }
        match (&self.aws_auth, &now.aws_auth) {
            (Some(_), None) => out.push("kube-system/aws-auth was deleted".into()),
            (None, Some(_)) => out.push("kube-system/aws-auth was created".into()),
            (Some(a), Some(b)) => {
                let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for k in keys {
                    match (a.get(k), b.get(k)) {
                        (Some(x), Some(y)) if x != y => {
                            out.push(format!("kube-system/aws-auth key {k} changed"))
                        }
                        (Some(_), None) => {
                            out.push(format!("kube-system/aws-auth key {k} was removed"))
                        }
                        (None, Some(_)) => {
                            out.push(format!("kube-system/aws-auth key {k} was added"))
                        }
                        _ => {}
                    }
                }
            }
            (None, None) => {}
        }
        let find = |list: &[CurrentEntry], arn: &str| {
            // The text as written: a change of case is a change of the file.
            list.iter()
                .find(|e| e.principal_arn.as_str() == arn)
                .cloned()
        };
        let arns: BTreeSet<&str> = self
            .access_entries
            .iter()
            .chain(&now.access_entries)
            .map(|e| e.principal_arn.as_str())
            .collect();
        for arn in arns {
            match (
                find(&self.access_entries, arn),
                find(&now.access_entries, arn),
            ) {
                (Some(_), None) => out.push(format!("access entry {arn} was deleted")),
                (None, Some(_)) => out.push(format!("access entry {arn} was created")),
                (Some(x), Some(y)) if x != y => out.push(format!(
                    "access entry {arn} changed: {}",
                    entry_changes(&x, &y)
                )),
                _ => {}
            }
        }
        out
    }
}

/// What differs between two states of one entry, in words.
fn entry_changes(a: &CurrentEntry, b: &CurrentEntry) -> String {
    let mut parts = Vec::new();
    if a.entry_type != b.entry_type {
        parts.push(format!("type {} -> {}", a.entry_type, b.entry_type));
    }
    if a.username != b.username {
        let show = |u: &Option<String>| u.clone().unwrap_or_else(|| "(default)".into());
        parts.push(format!(
            "username {} -> {}",
            show(&a.username),
            show(&b.username)
        ));
    }
    if a.kubernetes_groups != b.kubernetes_groups {
        parts.push(format!(
            "groups [{}] -> [{}]",
            a.kubernetes_groups.join(", "),
            b.kubernetes_groups.join(", ")
        ));
    }
    if a.access_policies != b.access_policies {
        let show = |e: &CurrentEntry| {
            e.access_policies
                .iter()
                .map(|p| format!("{} ({})", p.short_name(), p.access_scope))
                .collect::<Vec<_>>()
                .join(", ")
        };
        parts.push(format!("policies [{}] -> [{}]", show(a), show(b)));
    }
    if parts.is_empty() {
        parts.push("its ownership".into());
    }
    parts.join("; ")
}

/// Whether the entry `e` (after the steps) is what `w` wants: its type,
/// groups and policies, and its username (which a step leaves as it is on
/// an entry that `existed` when `w` names none: EKS cannot unset it).
fn wanted_is(w: &WantedEntry, e: &CurrentEntry, existed: bool) -> bool {
    fn sorted(g: &[String]) -> BTreeSet<&String> {
        g.iter().collect()
    }
    w.entry_type == e.entry_type
        && sorted(&w.kubernetes_groups) == sorted(&e.kubernetes_groups)
        && (w.username == e.username || (existed && w.username.is_none()))
        && w.access_policies
            .iter()
            .all(|p| e.access_policies.contains(p))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub schema_version: u32,
    pub kind: String,
    pub cluster: String,
    pub cluster_arn: String,
    pub region: String,
    /// [`Basis::fingerprint`] of `basis`.
    pub fingerprint: String,
    pub basis: Basis,
    pub extras: Extras,
    /// How the plan was made: apply makes it again from these.
    pub options: SavedOptions,
    /// What the migration wants, entry by entry (what `export` writes).
    pub wants: Wants,
    pub steps: Vec<Step>,
    /// The lockout guard's reasons to refuse, found at plan time (the caller
    /// is checked again at apply time).
    pub refusals: Vec<String>,
    /// SHA-256 of everything above: an edited file is refused.
    pub checksum: String,
}

impl PlanFile {
    /// A plan file for `steps` computed from `basis`.
    pub fn new(
        cluster: (&str, &str, &str),
        basis: Basis,
        (extras, options): (Extras, SavedOptions),
        (wants, steps): (Wants, Vec<Step>),
        refusals: Vec<String>,
    ) -> Result<PlanFile, PlanFileError> {
        let mut p = PlanFile {
            schema_version: SCHEMA_VERSION,
            kind: KIND.into(),
            cluster: cluster.0.into(),
            cluster_arn: cluster.1.into(),
            region: cluster.2.into(),
            fingerprint: basis.fingerprint()?,
            basis,
            extras,
            options,
            wants,
            steps,
            refusals,
            checksum: String::new(),
        };
        p.checksum = p.content_checksum()?;
        Ok(p)
    }

    /// SHA-256 of the file's content but the checksum itself.
    fn content_checksum(&self) -> Result<String, PlanFileError> {
        let mut v = serde_json::to_value(self).map_err(serialize)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("checksum");
        }
        Ok(sha256_hex(&serde_json::to_vec(&v).map_err(serialize)?))
    }

    /// Reads a plan file.
    ///
    /// # Errors
    /// [`PlanFileError`] when it is not a plan file of this schema version, or
    /// its fingerprint does not match its basis (it was edited).
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<PlanFile, PlanFileError> {
        let invalid = |message: String| PlanFileError::Invalid {
            file: file.into(),
            message,
        };
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if v.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            return Err(invalid(format!("no \"kind\": \"{KIND}\"")));
        }
        let found = v
            .get("schemaVersion")
            .and_then(|k| k.as_u64())
            .ok_or_else(|| invalid("its schemaVersion is not a whole number".into()))?;
        if found != u64::from(SCHEMA_VERSION) {
            return Err(PlanFileError::Version {
                file: file.into(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        let p: PlanFile = serde_json::from_value(v).map_err(|e| invalid(e.to_string()))?;
        if p.basis.fingerprint()? != p.fingerprint || p.content_checksum()? != p.checksum {
            return Err(invalid(
                "its checksum does not match its content (the file was edited)".into(),
            ));
        }
        Ok(p)
    }

    /// Checks that what the file says the migration wants (`wants`, what
    /// `export PLAN_FILE` writes) is what its steps make of its basis. The
    /// checksum is unkeyed: a file edited to want more, checksum recomputed,
    /// is refused here, as `apply` refuses it by making the plan again.
    ///
    /// # Errors
    /// [`PlanFileError::Invalid`] naming the first entry that differs.
    pub fn check_wants(&self, file: &str) -> Result<(), PlanFileError> {
        let after = steps::project(&self.basis.access_entries, &self.steps);
        let find = |entries: &[CurrentEntry], arn: &PrincipalArn| {
            entries.iter().find(|e| e.principal_arn == *arn).cloned()
        };
        for w in &self.wants.entries {
            let arn = w.principal_arn.as_str();
            if self
                .wants
                .errors
                .iter()
                .any(|e| e.principal_arn.as_deref() == Some(arn))
            {
                continue; // left out of every export
            }
            let now = find(&self.basis.access_entries, &w.principal_arn);
            let made = find(&after, &w.principal_arn);
            let same = match (w.kept, &now, made) {
                // Kept: exported as it is now.
                (true, now, _) => now.is_some(),
                (false, _, Some(e)) => wanted_is(w, &e, now.is_some()),
                (false, _, None) => false,
            };
            if !same {
                return Err(PlanFileError::Invalid {
                    file: file.into(),
                    message: format!(
                        "what it wants for {arn} is not what its steps make of the cluster's entries (the file was edited)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The file's JSON.
    ///
    /// # Errors
    /// [`PlanFileError::Serialize`] if it cannot be serialised.
    pub fn to_json(&self) -> Result<String, PlanFileError> {
        let mut s = serde_json::to_string_pretty(self).map_err(serialize)?;
        s.push('\n');
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entry::{AccessPolicy, EntryType};

    fn entry(arn: &str, groups: &[&str]) -> CurrentEntry {
        CurrentEntry {
            principal_arn: arn.into(),
            entry_type: EntryType::Standard,
            username: None,
            kubernetes_groups: groups.iter().map(|g| g.to_string()).collect(),
            access_policies: Vec::new(),
            eks_owned: None,
        }
    }

    #[test]
    fn round_trips_and_detects_edits() {
        let basis = Basis::new(
            AuthMode::ConfigMap,
            None,
            vec![entry("arn:b", &[]), entry("arn:a", &[])],
        );
        let p = PlanFile::new(
            ("c", "arn:c", "eu-west-1"),
            basis,
            (Extras::default(), SavedOptions::default()),
            (
                Wants {
                    from: "kube-system/aws-auth".into(),
                    entries: Vec::new(),
                    errors: Vec::new(),
                },
                Vec::new(),
            ),
            Vec::new(),
        )
        .expect("serialises");
        let json = p.to_json().expect("serialises");
        let back = PlanFile::from_bytes("p.json", json.as_bytes()).expect("reads back");
        assert_eq!(back, p);
        for (from, to) in [
            ("arn:b", "arn:x"),
            ("\"refusals\": []", "\"refusals\": [\"x\"]"),
        ] {
            let edited = json.replace(from, to);
            assert_ne!(edited, json);
            let err = PlanFile::from_bytes("p.json", edited.as_bytes()).expect_err("edited");
            assert!(err.to_string().contains("edited"), "{err}");
        }
    }

    #[test]
    fn says_what_changed() {
        let mut data = ConfigMapData::new();
        data.insert("mapRoles".into(), "- rolearn: a\n".into());
        let old = Basis::new(
            AuthMode::ConfigMap,
            Some(data.clone()),
            vec![entry("arn:a", &[])],
        );
        data.insert("mapRoles".into(), "- rolearn: b\n".into());
        let new = Basis::new(
            AuthMode::ApiAndConfigMap,
            Some(data),
            vec![entry("arn:a", &["g"]), entry("arn:n", &[])],
        );
        assert_ne!(old.fingerprint().unwrap(), new.fingerprint().unwrap());
        assert_eq!(
            old.changes(&new),
            [
                "the authentication mode is API_AND_CONFIG_MAP, not CONFIG_MAP",
                "kube-system/aws-auth key mapRoles changed",
                "access entry arn:a changed: groups [] -> [g]",
                "access entry arn:n was created",
            ]
        );
        assert!(old.changes(&old).is_empty());
    }

    /// The example of docs/CONTRACTS.md section 3 is this build's file for
    /// its content, hashes included.
    #[test]
    fn the_documented_example_is_what_this_build_writes() {
        let arn: PrincipalArn =
            serde_json::from_str("\"arn:aws:iam::111122223333:role/platform-admin\"").unwrap();
        let admin: AccessPolicy = serde_json::from_value(serde_json::json!({
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster", "namespaces": []}
        }))
        .unwrap();
        let data = ConfigMapData::from([(
            "mapRoles".to_string(),
            "- rolearn: arn:aws:iam::111122223333:role/platform-admin\n  username: admin:{{SessionName}}\n  groups:\n    - system:masters\n".to_string(),
        )]);
        let wants = Wants {
            from: "kube-system/aws-auth".into(),
            entries: vec![WantedEntry {
                principal_arn: arn.clone(),
                entry_type: EntryType::Standard,
                username: Some("admin:{{SessionName}}".into()),
                kubernetes_groups: Vec::new(),
                access_policies: vec![admin.clone()],
                kept: false,
                made_by_eks: false,
            }],
            errors: Vec::new(),
        };
        let steps = vec![
            Step::SwitchMode {
                from: AuthMode::ConfigMap,
                to: AuthMode::ApiAndConfigMap,
            },
            Step::CreateEntry {
                principal_arn: arn.clone(),
                entry_type: EntryType::Standard,
                username: Some("admin:{{SessionName}}".into()),
                kubernetes_groups: Vec::new(),
                eks_owned: None,
            },
            Step::AssociatePolicy {
                principal_arn: arn,
                policy: admin,
                previous_scope: None,
            },
        ];
        let p = PlanFile::new(
            (
                "prod",
                "arn:aws:eks:eu-west-1:111122223333:cluster/prod",
                "eu-west-1",
            ),
            Basis::new(AuthMode::ConfigMap, Some(data), Vec::new()),
            (Extras::default(), SavedOptions::default()),
            (wants, steps),
            Vec::new(),
        )
        .unwrap();
        p.check_wants("example").unwrap();
        let docs = include_str!("../../docs/CONTRACTS.md");
        let section = &docs[docs.find("## 3. The saved plan").unwrap()..];
        let example = &section[section.find("```json\n").unwrap() + 8..];
        let example = &example[..example.find("```").unwrap()];
        assert_eq!(p.to_json().unwrap(), example);
    }
}
