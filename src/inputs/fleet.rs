//! The fleet file (`fleet plan --fleet FLEET.yaml`): the clusters of a fleet
//! run, named one by one (`clusters`) or found by ListClusters (`discover`),
//! with the options each runs with (`defaults`, overridden per cluster or
//! per discovery). Every key is checked: a typo is an error naming its line,
//! never an option silently left out. Pure: [`crate::fleet`] resolves it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{documents, invalid, string_list, InputError};
use crate::yaml::Node;

/// Options a cluster runs with; unset ones come from `defaults`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// A role ARN to assume for the cluster's calls; `{account}` is replaced
    /// by the cluster's account.
    pub assume_role: Option<String>,
    /// Roles to assume for IAM lookups in other accounts (`{account}` as above).
    pub lookup_roles: Option<Vec<String>>,
    pub kubeconfig: Option<PathBuf>,
    pub kube_context: Option<String>,
    /// Overrides files, as `--overrides`.
    pub overrides: Option<Vec<PathBuf>>,
    pub expand_sso: Option<bool>,
    pub policies_from_rbac: Option<bool>,
    pub keep_existing_entries: Option<bool>,
    /// Waves run in order (1 first).
    pub wave: Option<u32>,
}

impl ClusterOptions {
    /// These options, with what they leave unset taken from `under`.
    pub fn over(&self, under: &ClusterOptions) -> ClusterOptions {
        ClusterOptions {
            region: self.region.clone().or_else(|| under.region.clone()),
            profile: self.profile.clone().or_else(|| under.profile.clone()),
            assume_role: self
                .assume_role
                .clone()
                .or_else(|| under.assume_role.clone()),
            lookup_roles: self
                .lookup_roles
                .clone()
                .or_else(|| under.lookup_roles.clone()),
            kubeconfig: self.kubeconfig.clone().or_else(|| under.kubeconfig.clone()),
            kube_context: self
                .kube_context
                .clone()
                .or_else(|| under.kube_context.clone()),
            overrides: self.overrides.clone().or_else(|| under.overrides.clone()),
            expand_sso: self.expand_sso.or(under.expand_sso),
            policies_from_rbac: self.policies_from_rbac.or(under.policies_from_rbac),
            keep_existing_entries: self.keep_existing_entries.or(under.keep_existing_entries),
            wave: self.wave.or(under.wave),
        }
    }
}

/// One cluster named in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCluster {
    pub name: String,
    /// 12 digits.
    pub account: String,
    pub options: ClusterOptions,
    pub line: usize,
}

/// A search for clusters: ListClusters in each region of each account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discover {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// A glob (`*` any run of characters, `?` one) the name must match.
    pub name_pattern: Option<String>,
    /// Tags the cluster must carry, with these values.
    pub tags: BTreeMap<String, String>,
    pub options: ClusterOptions,
    pub line: usize,
}

/// A fleet file, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetFile {
    pub defaults: ClusterOptions,
    pub clusters: Vec<NamedCluster>,
    pub discover: Vec<Discover>,
}

const OPTION_KEYS: &[&str] = &[
    "region",
    "profile",
    "assumeRole",
    "lookupRoles",
    "kubeconfig",
    "kubeContext",
    "overrides",
    "expandSso",
    "policiesFromRbac",
    "keepExistingEntries",
    "wave",
];

/// Reads a fleet file.
///
/// # Errors
/// [`InputError`] naming the file, the line and the key of anything
/// malformed or unknown, or a file that names no cluster and no discovery.
pub fn read(file: &str, bytes: &[u8]) -> Result<FleetFile, InputError> {
    let docs = documents(file, bytes)?;
    let [doc] = docs.as_slice() else {
        return Err(invalid(file, 1, "a fleet file is one YAML document"));
    };
    let top = fields(
        file,
        doc,
        "the fleet file",
        &["defaults", "clusters", "discover"],
    )?;
    let mut fleet = FleetFile::default();
    if let Some(d) = top.get("defaults") {
        let keys = fields(file, d, "`defaults`", OPTION_KEYS)?;
        fleet.defaults = options(file, &keys)?;
    }
    for item in list(file, &top, "clusters")? {
        fleet.clusters.push(named(file, item)?);
    }
    for item in list(file, &top, "discover")? {
        fleet.discover.push(discover(file, item)?);
    }
    // Files the fleet file names are found beside it, wherever it is run from.
    let base = std::path::Path::new(file)
        .parent()
        .unwrap_or(std::path::Path::new(""));
    for o in std::iter::once(&mut fleet.defaults)
        .chain(fleet.clusters.iter_mut().map(|c| &mut c.options))
        .chain(fleet.discover.iter_mut().map(|d| &mut d.options))
    {
        o.kubeconfig = o.kubeconfig.take().map(|k| base.join(k));
        o.overrides = o
            .overrides
            .take()
            .map(|l| l.into_iter().map(|f| base.join(f)).collect());
    }
    if fleet.clusters.is_empty() && fleet.discover.is_empty() {
        return Err(invalid(
            file,
            doc.line,
            "the fleet names no cluster: give `clusters` or `discover`",
        ));
    }
    Ok(fleet)
}

/// The fields of a mapping, each key one of `allowed`, none twice.
fn fields<'a>(
    file: &str,
    node: &'a Node,
    what: &str,
    allowed: &[&str],
) -> Result<BTreeMap<&'a str, &'a Node>, InputError> {
    let map = node
        .as_map()
        .ok_or_else(|| invalid(file, node.line, format!("{what} must be a mapping")))?;
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key = k.as_str().unwrap_or_default();
        if !allowed.contains(&key) {
            return Err(invalid(
                file,
                k.line,
                format!(
                    "unknown key `{}` in {what} (known: {})",
                    k.key_text(),
                    allowed.join(", ")
                ),
            ));
        }
        if out.insert(key, v).is_some() {
            return Err(invalid(
                file,
                k.line,
                format!("`{key}` is given twice in {what}"),
            ));
        }
    }
    Ok(out)
}

/// The items of the list at `key`, if given.
fn list<'a>(
    file: &str,
    top: &BTreeMap<&str, &'a Node>,
    key: &str,
) -> Result<&'a [Node], InputError> {
    match top.get(key) {
        None => Ok(&[]),
        Some(n) if n.is_null() => Ok(&[]),
        Some(n) => n
            .as_seq()
            .ok_or_else(|| invalid(file, n.line, format!("`{key}` must be a list"))),
    }
}

/// A string field.
fn text(file: &str, key: &str, node: &Node) -> Result<String, InputError> {
    match node.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(invalid(
            file,
            node.line,
            format!(
                "`{key}` must be a non-empty string, found {}",
                node.kind_name()
            ),
        )),
    }
}

/// A boolean field.
fn flag(file: &str, key: &str, node: &Node) -> Result<bool, InputError> {
    node.as_bool()
        .ok_or_else(|| invalid(file, node.line, format!("`{key}` must be true or false")))
}

/// A 12-digit account id field.
fn account(file: &str, key: &str, node: &Node) -> Result<String, InputError> {
    let a = text(file, key, node)?;
    if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
        Ok(a)
    } else {
        Err(invalid(
            file,
            node.line,
            format!("`{key}` must be a 12-digit AWS account id (quote it: \"012345678901\")"),
        ))
    }
}

/// The options among `keys`.
fn options(file: &str, keys: &BTreeMap<&str, &Node>) -> Result<ClusterOptions, InputError> {
    let s = |k: &str| keys.get(k).map(|n| text(file, k, n)).transpose();
    let b = |k: &str| keys.get(k).map(|n| flag(file, k, n)).transpose();
    let paths = |k: &str| {
        keys.get(k)
            .map(|n| string_list(file, k, n).map(|l| l.into_iter().map(PathBuf::from).collect()))
            .transpose()
    };
    let wave = match keys.get("wave") {
        None => None,
        Some(n) => Some(
            n.as_int()
                .and_then(|w| u32::try_from(w).ok())
                .filter(|w| *w >= 1)
                .ok_or_else(|| invalid(file, n.line, "`wave` must be a whole number from 1"))?,
        ),
    };
    Ok(ClusterOptions {
        region: s("region")?,
        profile: s("profile")?,
        assume_role: s("assumeRole")?,
        lookup_roles: keys
            .get("lookupRoles")
            .map(|n| string_list(file, "lookupRoles", n))
            .transpose()?,
        kubeconfig: s("kubeconfig")?.map(PathBuf::from),
        kube_context: s("kubeContext")?,
        overrides: paths("overrides")?,
        expand_sso: b("expandSso")?,
        policies_from_rbac: b("policiesFromRbac")?,
        keep_existing_entries: b("keepExistingEntries")?,
        wave,
    })
}

/// One item of `clusters`.
fn named(file: &str, item: &Node) -> Result<NamedCluster, InputError> {
    let allowed: Vec<&str> = ["name", "account"]
        .iter()
        .chain(OPTION_KEYS)
        .copied()
        .collect();
    let keys = fields(file, item, "a cluster", &allowed)?;
    let need = |k: &str| {
        keys.get(k)
            .copied()
            .ok_or_else(|| invalid(file, item.line, format!("a cluster needs `{k}`")))
    };
    Ok(NamedCluster {
        name: text(file, "name", need("name")?)?,
        account: account(file, "account", need("account")?)?,
        options: options(file, &keys)?,
        line: item.line,
    })
}

/// One item of `discover`.
fn discover(file: &str, item: &Node) -> Result<Discover, InputError> {
    let allowed: Vec<&str> = ["accounts", "regions", "namePattern", "tags"]
        .iter()
        .chain(OPTION_KEYS.iter().filter(|k| **k != "region"))
        .copied()
        .collect();
    let keys = fields(file, item, "a discovery", &allowed)?;
    let need = |k: &str| {
        keys.get(k)
            .copied()
            .ok_or_else(|| invalid(file, item.line, format!("a discovery needs `{k}`")))
    };
    let accounts_node = need("accounts")?;
    let accounts = accounts_node
        .as_seq()
        .ok_or_else(|| invalid(file, accounts_node.line, "`accounts` must be a list"))?
        .iter()
        .map(|n| account(file, "accounts", n))
        .collect::<Result<Vec<_>, _>>()?;
    let regions = string_list(file, "regions", need("regions")?)?;
    if accounts.is_empty() || regions.is_empty() {
        return Err(invalid(
            file,
            item.line,
            "a discovery needs at least one account and one region",
        ));
    }
    let mut tags = BTreeMap::new();
    if let Some(t) = keys.get("tags") {
        let map = t
            .as_map()
            .ok_or_else(|| invalid(file, t.line, "`tags` must be a mapping of tag to value"))?;
        for (k, v) in map {
            tags.insert(text(file, "tags", k)?, text(file, "tags", v)?);
        }
    }
    Ok(Discover {
        accounts,
        regions,
        name_pattern: keys
            .get("namePattern")
            .map(|n| text(file, "namePattern", n))
            .transpose()?,
        tags,
        options: options(file, &keys)?,
        line: item.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"defaults: {region: us-east-1, profile: ops, assumeRole: "arn:aws:iam::{account}:role/migrate-auth"}
clusters:
  - {name: prod-east, account: "111122223333", wave: 1}
  - {name: prod-eu, region: eu-west-1, account: "444455556666", kubeContext: prod-eu, wave: 2}
discover:
  - {accounts: ["111122223333"], regions: [us-east-1, eu-west-1], namePattern: "dev-*", tags: {team: platform}, wave: 3}
"#;

    #[test]
    fn the_issue_sample_reads_as_written() {
        let f = read("FLEET.yaml", SAMPLE.as_bytes()).unwrap();
        assert_eq!(f.defaults.region.as_deref(), Some("us-east-1"));
        assert_eq!(f.clusters.len(), 2);
        let eu = &f.clusters[1];
        assert_eq!(
            (eu.name.as_str(), eu.account.as_str()),
            ("prod-eu", "444455556666")
        );
        let eu = eu.options.over(&f.defaults);
        assert_eq!(eu.region.as_deref(), Some("eu-west-1"));
        assert_eq!(eu.profile.as_deref(), Some("ops"));
        assert_eq!(eu.kube_context.as_deref(), Some("prod-eu"));
        assert_eq!(eu.wave, Some(2));
        let d = &f.discover[0];
        assert_eq!(d.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(d.name_pattern.as_deref(), Some("dev-*"));
        assert_eq!(d.tags["team"], "platform");
        assert_eq!(d.options.wave, Some(3));
    }

    #[test]
    fn files_it_names_are_found_beside_it() {
        let text = "defaults: {kubeconfig: kc, overrides: [o.yaml, /abs/o.yaml]}\nclusters:\n  - {name: a, account: \"111122223333\", region: r-1, kubeconfig: ../x}\n";
        let f = read("ops/fleets/FLEET.yaml", text.as_bytes()).unwrap();
        assert_eq!(f.defaults.kubeconfig, Some(PathBuf::from("ops/fleets/kc")));
        assert_eq!(
            f.defaults.overrides,
            Some(vec![
                PathBuf::from("ops/fleets/o.yaml"),
                PathBuf::from("/abs/o.yaml")
            ])
        );
        assert_eq!(
            f.clusters[0].options.kubeconfig,
            Some(PathBuf::from("ops/fleets/../x"))
        );
    }

    #[test]
    fn mistakes_name_their_line_and_key() {
        let cases = [
            (
                "clusters:\n  - {name: a, account: \"111122223333\", regoin: x}\n",
                ":2: unknown key `regoin`",
            ),
            (
                "clusters:\n  - {name: a}\n",
                ":2: a cluster needs `account`",
            ),
            (
                "clusters:\n  - {name: a, account: 111122223333x}\n",
                ":2: `account` must be a 12-digit",
            ),
            (
                "defaults: {expandSso: yes please}\nclusters: []\ndiscover: []\n",
                ":1: `expandSso` must be true or false",
            ),
            (
                "clusters:\n  - name: a\n    account: \"111122223333\"\n    wave: 0\n",
                ":4: `wave` must be a whole number",
            ),
            ("clusters: []\n", "names no cluster"),
            (
                "discover:\n  - {accounts: [], regions: [us-east-1]}\n",
                ":2: a discovery needs at least one",
            ),
            (
                "discover:\n  - {accounts: [\"111122223333\"], regions: [x], region: y}\n",
                "unknown key `region`",
            ),
            ("clusters: {}\n", ":1: `clusters` must be a list"),
        ];
        for (text, want) in cases {
            let e = read("F", text.as_bytes()).unwrap_err().to_string();
            assert!(e.starts_with("F:") && e.contains(want), "{text:?}: {e}");
        }
    }
}
