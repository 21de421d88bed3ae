//! The AWS state the [`crate::Aws`] emulator serves: EKS clusters with their access entries,
//! node groups, Fargate profiles and updates; IAM roles and users; STS credentials. Also the
//! fixed EKS facts (access policy names, entry types, authentication modes).

use std::collections::BTreeMap;

use crate::util::{hash64, path_and_name, Arn};

/// The access policies `ListAccessPolicies` returns, sorted by name. Their ARN is
/// `arn:PARTITION:eks::aws:cluster-access-policy/NAME`.
pub const ACCESS_POLICIES: [&str; 15] = [
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSHybridPolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEMRJobPolicy",
    "AmazonSagemakerHyperpodClusterPolicy",
    "AmazonSagemakerHyperpodControllerPolicy",
    "AmazonSagemakerHyperpodSystemNamespacePolicy",
];

/// Access entry types EKS accepts.
pub const ENTRY_TYPES: [&str; 7] = [
    "STANDARD",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "HYBRID_LINUX",
    "EC2",
    "HYPERPOD_LINUX",
];

/// Cluster authentication modes, in the only order EKS lets a cluster move through them.
pub const AUTHENTICATION_MODES: [&str; 3] = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];

/// Everything the AWS emulator knows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwsWorld {
    /// Clusters by key: the name, or `ACCOUNT/REGION/NAME` for a name already taken (see
    /// [`AwsWorld::add_cluster`]). A cluster is visible only to callers of its account, in its
    /// region, by its name.
    pub clusters: BTreeMap<String, Cluster>,
    /// IAM roles of every account.
    pub roles: Vec<IamPrincipal>,
    /// IAM users of every account.
    pub users: Vec<IamPrincipal>,
    /// access key id -> caller ARN (GetCallerIdentity); a key not listed => 403
    /// InvalidClientTokenId / UnrecognizedClientException; key "EXPIRED" => 403 ExpiredToken /
    /// ExpiredTokenException.
    pub credentials: BTreeMap<String, String>,
    /// access key id -> secret: requests signed with a key listed here must carry a
    /// valid SigV4 signature (403 InvalidSignatureException / SignatureDoesNotMatch).
    pub secrets: BTreeMap<String, String>,
    /// Operations every caller is denied (403 AccessDeniedException / AccessDenied),
    /// by name: `ListNodegroups`, `GetRole`, ...
    pub denied_operations: std::collections::BTreeSet<String>,
    /// role ARN -> (access key id, secret) that AssumeRole hands out. AssumeRole also registers
    /// the key in `credentials` as the assumed-role session ARN.
    pub assumable: BTreeMap<String, (String, String)>,
    /// A fault on one cluster: (its ARN, k, writes so far): the k-th write to that cluster
    /// (1-based; UpdateClusterConfig and the access-entry writes) is refused with 400
    /// InvalidRequestException and changes nothing; the others go through.
    pub reject_cluster_write: Option<(String, u64, u64)>,
    /// Every CreateAccessEntry, UpdateAccessEntry and UpdateClusterConfig request that reached
    /// the handler: (operation, principal ARN or cluster name, clientRequestToken).
    pub token_log: Vec<(String, String, Option<String>)>,
}

impl AwsWorld {
    /// Adds an IAM role (id derived from the ARN) unless it is already there.
    pub fn add_role(&mut self, arn: &str) -> &mut Self {
        if !self.roles.iter().any(|r| r.arn == arn) {
            self.roles.push(IamPrincipal::new(arn));
        }
        self
    }

    /// Adds an IAM user (id derived from the ARN) unless it is already there.
    pub fn add_user(&mut self, arn: &str) -> &mut Self {
        if !self.users.iter().any(|r| r.arn == arn) {
            self.users.push(IamPrincipal::new(arn));
        }
        self
    }

    /// Registers an access key and its secret: its signatures are checked.
    pub fn add_signed_credentials(
        &mut self,
        access_key_id: &str,
        secret: &str,
        caller_arn: &str,
    ) -> &mut Self {
        self.secrets
            .insert(access_key_id.to_string(), secret.to_string());
        self.add_credentials(access_key_id, caller_arn)
    }

    /// Registers an access key for a caller ARN.
    pub fn add_credentials(&mut self, access_key_id: &str, caller_arn: &str) -> &mut Self {
        self.credentials
            .insert(access_key_id.to_string(), caller_arn.to_string());
        self
    }

    /// Inserts a cluster under its name.
    /// Keyed by its name, or by `ACCOUNT/REGION/NAME` when another cluster (of another account
    /// or region) has the name already; a cluster of the same account, region and name is
    /// replaced.
    pub fn add_cluster(&mut self, cluster: Cluster) -> &mut Self {
        let same = |c: &Cluster| {
            c.name == cluster.name && c.account == cluster.account && c.region == cluster.region
        };
        let key = match self.clusters.iter().find(|(_, c)| same(c)) {
            Some((k, _)) => k.clone(),
            None if self.clusters.contains_key(&cluster.name) => {
                format!("{}/{}/{}", cluster.account, cluster.region, cluster.name)
            }
            None => cluster.name.clone(),
        };
        self.clusters.insert(key, cluster);
        self
    }
}

/// An IAM role or user. Its path and name are parsed from the ARN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IamPrincipal {
    pub arn: String,
    /// `AROA...` for roles, `AIDA...` for users.
    pub id: String,
}

impl IamPrincipal {
    /// A principal with a stable id derived from its ARN.
    pub fn new(arn: &str) -> IamPrincipal {
        let prefix = if arn.contains(":user/") {
            "AIDA"
        } else {
            "AROA"
        };
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut h = hash64(arn);
        let mut id = String::from(prefix);
        for i in 0..17 {
            if i == 12 {
                h = hash64((arn, 2u8));
            }
            id.push(ALPHABET[(h & 31) as usize] as char);
            h >>= 5;
        }
        IamPrincipal {
            arn: arn.to_string(),
            id,
        }
    }

    /// The account id from the ARN.
    pub fn account(&self) -> String {
        Arn::account_of(&self.arn)
    }

    /// `role` or `user` (what follows the account in the ARN).
    pub fn kind(&self) -> String {
        Arn::parse(&self.arn)
            .and_then(|a| a.resource.split('/').next().map(str::to_string))
            .unwrap_or_default()
    }

    /// The IAM path, `/` or `/a/b/`.
    pub fn path(&self) -> String {
        self.path_and_name().0
    }

    /// The role or user name.
    pub fn name(&self) -> String {
        self.path_and_name().1
    }

    fn path_and_name(&self) -> (String, String) {
        let resource = Arn::parse(&self.arn)
            .map(|a| a.resource)
            .unwrap_or_default();
        let after_type = resource.split_once('/').map(|(_, r)| r).unwrap_or("");
        path_and_name(after_type)
    }
}

/// An EKS cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub account: String,
    pub region: String,
    /// `aws`, `aws-cn`, ...
    pub partition: String,
    /// Kubernetes version, `1.29`.
    pub version: String,
    /// `eks.7`.
    pub platform_version: String,
    /// `ACTIVE`; `UPDATING` while an update is in progress.
    pub status: String,
    /// `CONFIG_MAP`, `API_AND_CONFIG_MAP` or `API`.
    pub authentication_mode: String,
    /// The Kubernetes API URL (tests may point it at the Kubernetes emulator).
    pub endpoint: String,
    /// Base64 CA bundle.
    pub certificate_authority: String,
    /// The IAM principal that created the cluster; EKS gives it an admin entry when access entries
    /// are enabled.
    pub creator_arn: String,
    /// Access entries by principal ARN.
    pub access_entries: BTreeMap<String, AccessEntry>,
    /// Managed node groups: name -> node role ARN.
    pub nodegroups: BTreeMap<String, String>,
    /// Fargate profiles: name -> pod execution role ARN.
    pub fargate_profiles: BTreeMap<String, String>,
    /// Updates by id.
    pub updates: BTreeMap<String, Update>,
    /// How many polls (DescribeUpdate, or DescribeCluster of this cluster) an update stays
    /// InProgress before it becomes Successful.
    pub update_polls: u32,
    /// When the cluster was created (epoch seconds; 0 answers the request time).
    pub created_at: u64,
    /// `accessConfig.bootstrapClusterCreatorAdminPermissions`.
    pub bootstrap_creator_admin: bool,
    /// EKS makes the node-group and Fargate entries a little after the switch to
    /// `API_AND_CONFIG_MAP` reports Successful: until then their roles are `owed_entries`, and a
    /// CreateAccessEntry for one finds EKS's entry made just before it (409).
    pub late_node_entries: bool,
    /// Roles (and their entry type) whose entry EKS has yet to make.
    pub owed_entries: BTreeMap<String, String>,
    /// The cluster's tags (DescribeCluster).
    pub tags: BTreeMap<String, String>,
}

/// An access entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessEntry {
    pub principal_arn: String,
    /// The entry type: `STANDARD`, `EC2_LINUX`, ...
    pub kind: String,
    pub username: String,
    pub kubernetes_groups: Vec<String>,
    /// Associated access policies: policy ARN -> scope.
    pub policies: BTreeMap<String, Scope>,
    /// EKS created it itself (cluster creator, managed node group or Fargate profile role).
    pub created_by_eks: bool,
    /// When it was created (epoch seconds; 0 answers the request time).
    pub created_at: u64,
    pub tags: BTreeMap<String, String>,
}

impl AccessEntry {
    /// A STANDARD entry with the username EKS would give it by default.
    pub fn standard(principal_arn: &str) -> AccessEntry {
        AccessEntry {
            principal_arn: principal_arn.to_string(),
            kind: "STANDARD".into(),
            username: default_username(principal_arn, "STANDARD"),
            ..AccessEntry::default()
        }
    }
}

/// An access scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// `cluster` or `namespace`.
    pub kind: String,
    pub namespaces: Vec<String>,
}

impl Scope {
    pub fn cluster() -> Scope {
        Scope {
            kind: "cluster".into(),
            namespaces: vec![],
        }
    }
}

/// A cluster update (only `AccessConfigUpdate` is emulated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    pub id: String,
    /// `InProgress`, `Successful`, `Failed`, `Cancelled`.
    pub status: String,
    /// Polls left before it completes.
    pub polls_left: u32,
    /// The authentication mode it moves the cluster to.
    pub target_mode: String,
    /// When it was created (epoch seconds).
    pub created_at: u64,
}

/// A cluster with sensible defaults: ACTIVE, Kubernetes 1.29, eks.7, CONFIG_MAP, us-east-1,
/// created by `arn:aws:iam::ACCOUNT:role/cluster-creator`, one poll per update.
pub fn sample_cluster(name: &str, account: &str) -> Cluster {
    Cluster {
        name: name.to_string(),
        account: account.to_string(),
        region: "us-east-1".into(),
        partition: "aws".into(),
        version: "1.29".into(),
        platform_version: "eks.7".into(),
        status: "ACTIVE".into(),
        authentication_mode: "CONFIG_MAP".into(),
        endpoint: format!(
            "https://{:016X}{:016X}.gr7.us-east-1.eks.amazonaws.com",
            hash64((name, 1u8)),
            hash64((name, 2u8))
        ),
        certificate_authority: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJlbXVsYXRvckNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K".into(),
        creator_arn: format!("arn:aws:iam::{account}:role/cluster-creator"),
        update_polls: 1,
        created_at: 1_700_000_000,
        bootstrap_creator_admin: true,
        ..Cluster::default()
    }
}

/// The username EKS fills in when none is given: the node identity for node types; for STANDARD
/// the user ARN for users and `arn:PART:sts::ACCOUNT:assumed-role/NAME/{{SessionName}}` for roles.
pub(crate) fn default_username(principal_arn: &str, kind: &str) -> String {
    match kind {
        "EC2_LINUX" | "EC2_WINDOWS" | "EC2" => "system:node:{{EC2PrivateDNSName}}".into(),
        "FARGATE_LINUX" | "HYBRID_LINUX" | "HYPERPOD_LINUX" => "system:node:{{SessionName}}".into(),
        _ => match Arn::parse(principal_arn) {
            Some(a) if a.resource.starts_with("role/") => {
                let name = a.resource.rsplit('/').next().unwrap_or_default();
                format!(
                    "arn:{}:sts::{}:assumed-role/{}/{{{{SessionName}}}}",
                    a.partition, a.account, name
                )
            }
            _ => principal_arn.to_string(),
        },
    }
}

/// The groups EKS reports for node entry types.
pub(crate) fn default_groups(kind: &str) -> Vec<String> {
    match kind {
        "EC2_LINUX" | "EC2_WINDOWS" | "EC2" | "HYBRID_LINUX" | "HYPERPOD_LINUX" => {
            vec!["system:nodes".into()]
        }
        "FARGATE_LINUX" => vec!["system:node-proxier".into(), "system:nodes".into()],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_parts() {
        let p = IamPrincipal::new(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1",
        );
        assert_eq!(p.path(), "/aws-reserved/sso.amazonaws.com/");
        assert_eq!(p.name(), "AWSReservedSSO_Admin_1");
        assert_eq!(p.account(), "111122223333");
        assert_eq!(p.kind(), "role");
        assert!(p.id.starts_with("AROA") && p.id.len() == 21);
        assert_eq!(p, IamPrincipal::new(&p.arn));
        assert!(IamPrincipal::new("arn:aws:iam::1:user/u")
            .id
            .starts_with("AIDA"));
    }

    #[test]
    fn default_usernames() {
        assert_eq!(
            default_username("arn:aws:iam::111122223333:role/a/dev", "STANDARD"),
            "arn:aws:sts::111122223333:assumed-role/dev/{{SessionName}}"
        );
        assert_eq!(
            default_username("arn:aws:iam::111122223333:user/bob", "STANDARD"),
            "arn:aws:iam::111122223333:user/bob"
        );
        assert_eq!(
            default_username("x", "EC2_LINUX"),
            "system:node:{{EC2PrivateDNSName}}"
        );
    }
}
