//! The clusters of a fleet run: those the fleet file names, and those its
//! discoveries find (ListClusters in each region of each account, filtered by
//! name pattern and tags), each with its options resolved. A cluster named
//! and also discovered runs once, as named. Names, accounts and regions are
//! checked before they become folder names. `--shard K/N` keeps a stable
//! subset: the clusters whose ARN hashes to `K`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::inputs::fleet::{ClusterOptions, Discover, FleetFile};
use crate::live::{self, AwsSettings, ClientSettings, KubeSettings, LiveError, LiveSettings};
use crate::mapper;
use crate::model::arn::{Arn, Partition, PrincipalKind};
use crate::pipeline::plan::PlanOptions;

/// Why the fleet's clusters cannot be known.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Something in the fleet file that only shows once resolved.
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    /// A discovery's calls failed.
    #[error("{file}:{line}: discovering the clusters of account {account} in {region}: {source}")]
    Discovery {
        file: String,
        line: usize,
        account: String,
        region: String,
        source: Box<LiveError>,
    },
}

/// One cluster of the run, with everything it runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub name: String,
    pub account: String,
    pub region: String,
    pub wave: u32,
    /// The role to assume, `{account}` filled in.
    pub assume_role: Option<String>,
    pub lookup_roles: Vec<String>,
    pub profile: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub kube_context: Option<String>,
    pub overrides: Vec<PathBuf>,
    pub expand_sso: bool,
    pub policies_from_rbac: bool,
    pub keep_existing_entries: bool,
    /// Where the fleet file names it, or the discovery that found it.
    pub line: usize,
    pub discovered: bool,
}

impl Target {
    /// `arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME`.
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:eks:{}:{}:cluster/{}",
            Partition::of_region(&self.region),
            self.region,
            self.account,
            self.name
        )
    }

    /// Its folder in a run directory: `ACCOUNT/REGION/NAME`.
    pub fn dir(&self) -> PathBuf {
        [&self.account, &self.region, &self.name].iter().collect()
    }

    /// How to reach it, `concurrency` calls at a time.
    pub fn live_settings(&self, concurrency: usize) -> LiveSettings {
        LiveSettings {
            cluster: self.name.clone(),
            client: ClientSettings {
                aws: AwsSettings {
                    profile: self.profile.clone(),
                    region: Some(self.region.clone()),
                    assume_role: self.assume_role.clone(),
                    lookup_roles: self.lookup_roles.clone(),
                    max_attempts: 5,
                },
                kube: KubeSettings {
                    kubeconfig: self.kubeconfig.clone(),
                    context: self.kube_context.clone(),
                },
                concurrency,
                expand_sso: self.expand_sso,
                describe_all: true,
                limit: None,
                listings: None,
            },
            expect_arn: Some(self.arn()),
        }
    }

    /// How to plan it.
    pub fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            overrides: self.overrides.clone(),
            mapper: mapper::Options {
                expand_sso: self.expand_sso,
                policies_from_rbac: self.policies_from_rbac,
            },
            keep_existing_entries: self.keep_existing_entries,
            ..PlanOptions::default()
        }
    }
}

/// Which cluster a summary row is about, and where its files are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    pub cluster: String,
    pub account: String,
    pub region: String,
    pub wave: u32,
    pub arn: String,
    /// The cluster's folder, relative to the run directory.
    pub dir: String,
}

impl Place {
    /// The place of `t`.
    pub fn of(t: &Target) -> Place {
        Place {
            cluster: t.name.clone(),
            account: t.account.clone(),
            region: t.region.clone(),
            wave: t.wave,
            arn: t.arn(),
            dir: t.dir().display().to_string(),
        }
    }
}

/// `--shard K/N`: this runner's part of the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl Shard {
    /// Reads `K/N`, 1 <= K <= N.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: a shard is K/N, like 2/5"))?;
        match (k.parse::<u32>(), n.parse::<u32>()) {
            (Ok(k), Ok(n)) if k >= 1 && k <= n => Ok(Shard { k, n }),
            _ => Err(format!("{text:?}: a shard is K/N with 1 <= K <= N")),
        }
    }

    /// Whether the cluster `arn` is in this shard: the first 8 bytes of its
    /// SHA-256, modulo N, are K - 1. The same on every machine and run.
    pub fn holds(&self, arn: &str) -> bool {
        let digest = Sha256::digest(arn.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.n) == u64::from(self.k - 1)
    }
}

/// Why `t` (as a run directory's `fleet.json` records it) cannot be used:
/// a name, account or region that is not one, and so no safe folder name.
pub fn unusable(t: &Target) -> Option<String> {
    let account = t.account.len() == 12 && t.account.bytes().all(|b| b.is_ascii_digit());
    (!valid_name(&t.name) || !valid_region(&t.region) || !account).then(|| {
        format!(
            "{:?} of account {:?} in {:?} is not a cluster this tool would have recorded",
            t.name, t.account, t.region
        )
    })
}

/// Whether `name` may be an EKS cluster's name (and so a folder name).
fn valid_name(name: &str) -> bool {
    crate::model::cluster::is_cluster_name(name)
}

/// Whether `region` looks like an AWS region (`eu-west-1`).
fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `o` for a cluster of `account` in `region`, found at `line`.
fn target(
    file: &str,
    (name, account, region): (&str, &str, &str),
    o: &ClusterOptions,
    (line, discovered): (usize, bool),
) -> Result<Target, TargetError> {
    let invalid = |message: String| TargetError::Invalid {
        file: file.into(),
        line,
        message,
    };
    if !valid_name(name) {
        return Err(invalid(format!(
            "{name:?} is not an EKS cluster name (letters, digits, - and _, up to 100)"
        )));
    }
    if !valid_region(region) {
        return Err(invalid(format!("{region:?} is not an AWS region")));
    }
    let fill = |role: &String| -> Result<String, TargetError> {
        let arn = role.replace("{account}", account);
        match Arn::parse(&arn) {
            Ok(a) if a.kind == PrincipalKind::Role => Ok(arn),
            _ => Err(invalid(format!("{arn:?} is not an IAM role ARN"))),
        }
    };
    Ok(Target {
        name: name.into(),
        account: account.into(),
        region: region.into(),
        wave: o.wave.unwrap_or(1),
        assume_role: o.assume_role.as_ref().map(fill).transpose()?,
        lookup_roles: o
            .lookup_roles
            .iter()
            .flatten()
            .map(fill)
            .collect::<Result<_, _>>()?,
        profile: o.profile.clone(),
        kubeconfig: o.kubeconfig.clone(),
        kube_context: o.kube_context.clone(),
        overrides: o.overrides.clone().unwrap_or_default(),
        expand_sso: o.expand_sso.unwrap_or(false),
        policies_from_rbac: o.policies_from_rbac.unwrap_or(false),
        keep_existing_entries: o.keep_existing_entries.unwrap_or(false),
        line,
        discovered,
    })
}

/// The clusters the fleet file names.
///
/// # Errors
/// [`TargetError::Invalid`] for a cluster without a region, with a bad
/// name, region or role.
pub fn named(file: &str, fleet: &FleetFile) -> Result<Vec<Target>, TargetError> {
    fleet
        .clusters
        .iter()
        .map(|c| {
            let o = c.options.over(&fleet.defaults);
            let region = o.region.clone().ok_or_else(|| TargetError::Invalid {
                file: file.into(),
                line: c.line,
                message: format!(
                    "cluster {} has no region (give `region`, or one in `defaults`)",
                    c.name
                ),
            })?;
            target(file, (&c.name, &c.account, &region), &o, (c.line, false))
        })
        .collect()
}

/// Whether `name` matches the glob `pattern` (`*` any run, `?` one character).
pub fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    go(&p, &n)
}

/// The clusters one discovery finds.
async fn discover_one(
    file: &str,
    fleet: &FleetFile,
    d: &Discover,
) -> Result<Vec<Target>, TargetError> {
    let mut out = Vec::new();
    for account in &d.accounts {
        for region in &d.regions {
            let mut o = d.options.over(&fleet.defaults);
            o.region = Some(region.clone());
            // The role and profile to list with are the cluster's own.
            let probe = target(file, ("probe", account, region), &o, (d.line, true))?;
            let failed = |source| TargetError::Discovery {
                file: file.into(),
                line: d.line,
                account: account.clone(),
                region: region.clone(),
                source: Box::new(source),
            };
            let settings = probe.live_settings(1).client.aws;
            let (reached, found) = live::clusters_of(&settings, !d.tags.is_empty())
                .await
                .map_err(failed)?;
            if reached != *account {
                return Err(failed(LiveError::Unexpected {
                    operation: "GetCallerIdentity",
                    message: format!("the credentials are for account {reached}, not {account} (check the profile and assumeRole)"),
                }));
            }
            for (name, tags) in found {
                let wanted = d.name_pattern.as_deref().is_none_or(|p| glob(p, &name))
                    && d.tags.iter().all(|(k, v)| tags.get(k) == Some(v));
                if wanted {
                    out.push(target(file, (&name, account, region), &o, (d.line, true))?);
                }
            }
        }
    }
    Ok(out)
}

/// Every cluster of the fleet, named ones first, each once (by ARN), in wave
/// order then by account, region and name.
///
/// # Errors
/// [`TargetError`] for a bad cluster or a discovery that failed.
pub async fn resolve(file: &str, fleet: &FleetFile) -> Result<Vec<Target>, TargetError> {
    let mut all: BTreeMap<String, Target> = BTreeMap::new();
    for t in named(file, fleet)? {
        if let Some(first) = all.get(&t.arn()) {
            return Err(TargetError::Invalid {
                file: file.into(),
                line: t.line,
                message: format!(
                    "cluster {} of {} in {} is named twice (first at line {})",
                    t.name, t.account, t.region, first.line
                ),
            });
        }
        all.insert(t.arn(), t);
    }
    for d in &fleet.discover {
        for t in discover_one(file, fleet, d).await? {
            all.entry(t.arn()).or_insert(t);
        }
    }
    let mut out: Vec<Target> = all.into_values().collect();
    out.sort_by(|a, b| {
        (a.wave, &a.account, &a.region, &a.name).cmp(&(b.wave, &b.account, &b.region, &b.name))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_a_fleet_into_disjoint_parts_that_cover_it() {
        let arns: Vec<String> = (0..500)
            .map(|i| format!("arn:aws:eks:us-east-1:111122223333:cluster/c-{i}"))
            .collect();
        let shards: Vec<Shard> = (1..=4).map(|k| Shard { k, n: 4 }).collect();
        for arn in &arns {
            assert_eq!(shards.iter().filter(|s| s.holds(arn)).count(), 1, "{arn}");
        }
        // Every shard gets a fair part.
        for s in &shards {
            let n = arns.iter().filter(|a| s.holds(a)).count();
            assert!((75..=175).contains(&n), "{s:?}: {n}");
        }
        assert_eq!(Shard::parse("2/5"), Ok(Shard { k: 2, n: 5 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_become_folders_only_when_they_are_cluster_names() {
        let fleet = crate::inputs::fleet::read(
            "F",
            b"defaults: {region: eu-west-1, assumeRole: \"arn:aws:iam::{account}:role/m\"}\nclusters:\n  - {name: a-1, account: \"111122223333\", wave: 2}\n  - {name: b, account: \"444455556666\", region: cn-north-1}\n",
        )
        .unwrap();
        let t = named("F", &fleet).unwrap();
        assert_eq!(
            t[0].assume_role.as_deref(),
            Some("arn:aws:iam::111122223333:role/m")
        );
        assert_eq!(t[0].dir(), PathBuf::from("111122223333/eu-west-1/a-1"));
        assert_eq!(t[0].wave, 2);
        assert_eq!(
            t[1].arn(),
            "arn:aws-cn:eks:cn-north-1:444455556666:cluster/b"
        );
        for (bad, want) in [
            ("../x", "not an EKS cluster name"),
            ("a/b", "not an EKS cluster name"),
            ("", "non-empty"),
        ] {
            let text = format!(
                "clusters:\n  - {{name: {bad:?}, account: \"111122223333\", region: us-east-1}}\n"
            );
            let e = crate::inputs::fleet::read("F", text.as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|f| named("F", &f).map_err(|e| e.to_string()))
                .unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
        let f = crate::inputs::fleet::read(
            "F",
            b"clusters:\n  - {name: a, account: \"111122223333\", region: \"../..\"}\n",
        )
        .unwrap();
        assert!(named("F", &f)
            .unwrap_err()
            .to_string()
            .contains("not an AWS region"));
    }

    #[test]
    fn globs_match_as_shells_do() {
        assert!(glob("dev-*", "dev-east"));
        assert!(glob("dev-*", "dev-"));
        assert!(!glob("dev-*", "prod-dev-1"));
        assert!(glob("*-?", "a-b"));
        assert!(!glob("*-?", "a-bc"));
        assert!(glob("*", ""));
    }
}
