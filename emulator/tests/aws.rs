//! Drives the [`emulator::Aws`] server with the real aws-sdk-eks, aws-sdk-iam and aws-sdk-sts
//! clients: EKS access entries and their rules, mode updates, paging, IAM/STS lookups,
//! credentials and fault injection.

use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::types::{
    AccessScope, AccessScopeType, AuthenticationMode, UpdateAccessConfigRequest, UpdateStatus,
};
use emulator::{sample_cluster, AccessEntry, Aws, AwsWorld, Faults, Scope};

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";
const ADMIN_KEY: &str = "AKIAADMIN";
const OTHER_KEY: &str = "AKIAOTHER";
const NODE_ROLE: &str = "arn:aws:iam::111122223333:role/eks-node-role";
const FARGATE_ROLE: &str = "arn:aws:iam::111122223333:role/eks-fargate-pods";
const CREATOR: &str = "arn:aws:iam::111122223333:role/cluster-creator";
const DEV: &str = "arn:aws:iam::111122223333:role/dev";
const SSO: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef";
const SSO_NO_PATH: &str =
    "arn:aws:iam::111122223333:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const CROSS: &str = "arn:aws:iam::444455556666:role/deployer";
const SLR: &str = "arn:aws:iam::111122223333:role/aws-service-role/emr-containers.amazonaws.com/AWSServiceRoleForAmazonEMRContainers";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

fn world(mode: &str) -> AwsWorld {
    let mut w = AwsWorld::default();
    let mut c = sample_cluster("prod", ACCT);
    c.authentication_mode = mode.into();
    c.nodegroups.insert("ng-1".into(), NODE_ROLE.into());
    c.fargate_profiles
        .insert("fp-default".into(), FARGATE_ROLE.into());
    w.add_cluster(c)
        .add_cluster(sample_cluster("staging", ACCT))
        .add_cluster(sample_cluster("elsewhere", OTHER));
    for r in [NODE_ROLE, FARGATE_ROLE, CREATOR, DEV, SSO, CROSS, SLR] {
        w.add_role(r);
    }
    w.add_role("arn:aws:iam::111122223333:role/admin")
        .add_user(ALICE)
        .add_credentials(
            ADMIN_KEY,
            "arn:aws:sts::111122223333:assumed-role/admin/jane@example.com",
        )
        .add_credentials(OTHER_KEY, "arn:aws:iam::444455556666:user/ops");
    w.add_user("arn:aws:iam::444455556666:user/ops");
    w.assumable
        .insert(DEV.into(), ("ASIADEVSESSION".into(), "secret".into()));
    w
}

async fn sdk_config(aws: &Aws, key: &str, attempts: u32) -> SdkConfig {
    let creds = aws_sdk_eks::config::Credentials::new(key, "secret", None, None, "test");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(aws.endpoint())
        .credentials_provider(creds)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .load()
        .await
}

async fn eks(aws: &Aws) -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::new(&sdk_config(aws, ADMIN_KEY, 3).await)
}

async fn eks_as(aws: &Aws, key: &str, attempts: u32) -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::new(&sdk_config(aws, key, attempts).await)
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    e.code().unwrap_or("<none>").to_string()
}

fn message<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    e.message().unwrap_or("<none>").to_string()
}

/// Creates a STANDARD entry and expects an error; returns (code, message).
async fn create_err(
    client: &aws_sdk_eks::Client,
    principal: &str,
    username: Option<&str>,
    groups: &[&str],
    kind: Option<&str>,
) -> (String, String) {
    let mut req = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(principal);
    if let Some(u) = username {
        req = req.username(u);
    }
    for g in groups {
        req = req.kubernetes_groups(*g);
    }
    if let Some(k) = kind {
        req = req.r#type(k);
    }
    let e = req.send().await.expect_err("EKS rejects this entry");
    (code(&e), message(&e))
}

#[tokio::test]
async fn describe_and_list_clusters_are_scoped_to_the_callers_account() {
    let aws = Aws::start(world("CONFIG_MAP")).await;
    let client = eks(&aws).await;
    let out = client.describe_cluster().name("prod").send().await.unwrap();
    let c = out.cluster().unwrap();
    assert_eq!(c.name(), Some("prod"));
    assert_eq!(c.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(c.platform_version(), Some("eks.7"));
    assert_eq!(c.version(), Some("1.29"));
    assert_eq!(
        c.access_config().unwrap().authentication_mode(),
        Some(&AuthenticationMode::ConfigMap)
    );
    assert!(c.certificate_authority().unwrap().data().is_some());
    assert_eq!(
        c.arn(),
        Some("arn:aws:eks:us-east-1:111122223333:cluster/prod")
    );

    // Two clusters of this account, one per page; the other account's cluster is invisible.
    let first = client.list_clusters().max_results(1).send().await.unwrap();
    assert_eq!(first.clusters(), ["prod"]);
    let second = client
        .list_clusters()
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.clusters(), ["staging"]);
    assert_eq!(second.next_token(), None);
    let e = client
        .describe_cluster()
        .name("elsewhere")
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_resource_not_found_exception());
    let e = client
        .describe_cluster()
        .name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    assert_eq!(message(&e), "No cluster found for name: nope.");
}

#[tokio::test]
async fn access_entry_calls_fail_in_config_map_mode() {
    let aws = Aws::start(world("CONFIG_MAP")).await;
    let client = eks(&aws).await;
    let want = "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.";
    let e = client
        .list_access_entries()
        .cluster_name("prod")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
    assert_eq!(message(&e), want);
    let (c, m) = create_err(&client, DEV, None, &[], None).await;
    assert_eq!((c.as_str(), m.as_str()), ("InvalidRequestException", want));
    let e = client
        .describe_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
    let e = client
        .associate_access_policy()
        .cluster_name("prod")
        .principal_arn(DEV)
        .policy_arn(VIEW)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
    // Not cluster-bound: works in any mode.
    let policies = client.list_access_policies().send().await.unwrap();
    assert!(!policies.access_policies().is_empty());
}

async fn update_mode(
    client: &aws_sdk_eks::Client,
    mode: AuthenticationMode,
) -> Result<String, (String, String)> {
    client
        .update_cluster_config()
        .name("prod")
        .access_config(
            UpdateAccessConfigRequest::builder()
                .authentication_mode(mode)
                .build(),
        )
        .send()
        .await
        .map(|o| o.update().unwrap().id().unwrap().to_string())
        .map_err(|e| (code(&e), message(&e)))
}

async fn poll(client: &aws_sdk_eks::Client, id: &str) -> UpdateStatus {
    let out = client
        .describe_update()
        .name("prod")
        .update_id(id)
        .send()
        .await
        .unwrap();
    let u = out.update().unwrap();
    assert_eq!(u.r#type().unwrap().as_str(), "AccessConfigUpdate");
    u.status().unwrap().clone()
}

#[tokio::test]
async fn mode_transitions_poll_to_successful_and_eks_creates_its_entries() {
    let mut w = world("CONFIG_MAP");
    w.clusters.get_mut("prod").unwrap().update_polls = 2;
    let aws = Aws::start(w).await;
    let client = eks(&aws).await;

    assert_eq!(
        update_mode(&client, AuthenticationMode::ConfigMap).await,
        Err((
            "InvalidParameterException".into(),
            "Cluster is already at the desired configuration with authenticationMode: CONFIG_MAP"
                .into()
        ))
    );
    assert_eq!(
        update_mode(&client, AuthenticationMode::Api).await,
        Err((
            "InvalidParameterException".into(),
            "Unsupported authentication mode update from CONFIG_MAP to API".into()
        ))
    );
    let id = update_mode(&client, AuthenticationMode::ApiAndConfigMap)
        .await
        .unwrap();
    // A second update while this one runs is refused.
    let (c, m) = update_mode(&client, AuthenticationMode::ApiAndConfigMap)
        .await
        .unwrap_err();
    assert_eq!(c, "ResourceInUseException");
    assert!(m.contains(&id), "{m}");
    // Still CONFIG_MAP (and UPDATING) until the update finishes.
    let (c, _) = create_err(&client, DEV, None, &[], None).await;
    assert_eq!(c, "InvalidRequestException");
    let cluster = aws.world().clusters["prod"].clone();
    assert_eq!(cluster.status, "UPDATING");
    assert_eq!(cluster.authentication_mode, "CONFIG_MAP");

    assert_eq!(poll(&client, &id).await, UpdateStatus::InProgress);
    assert_eq!(poll(&client, &id).await, UpdateStatus::InProgress);
    assert_eq!(poll(&client, &id).await, UpdateStatus::Successful);
    assert_eq!(poll(&client, &id).await, UpdateStatus::Successful);
    let out = client.describe_cluster().name("prod").send().await.unwrap();
    let c = out.cluster().unwrap();
    assert_eq!(c.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(
        c.access_config().unwrap().authentication_mode(),
        Some(&AuthenticationMode::ApiAndConfigMap)
    );

    // EKS's own entries: the creator (admin), the node group role, the Fargate role.
    let listed = client
        .list_access_entries()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    let mut want = vec![CREATOR, FARGATE_ROLE, NODE_ROLE];
    want.sort();
    assert_eq!(listed.access_entries(), want);
    let node = client
        .describe_access_entry()
        .cluster_name("prod")
        .principal_arn(NODE_ROLE)
        .send()
        .await
        .unwrap();
    let node = node.access_entry().unwrap();
    assert_eq!(node.r#type(), Some("EC2_LINUX"));
    assert_eq!(node.username(), Some("system:node:{{EC2PrivateDNSName}}"));
    let fargate = aws.world().clusters["prod"].access_entries[FARGATE_ROLE].clone();
    assert_eq!(fargate.kind, "FARGATE_LINUX");
    assert_eq!(fargate.username, "system:node:{{SessionName}}");
    assert!(fargate.created_by_eks);
    let creator = client
        .list_associated_access_policies()
        .cluster_name("prod")
        .principal_arn(CREATOR)
        .send()
        .await
        .unwrap();
    let policies = creator.associated_access_policies();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].policy_arn(), Some(ADMIN_POLICY));
    assert_eq!(
        policies[0].access_scope().unwrap().r#type(),
        Some(&AccessScopeType::Cluster)
    );
    assert!(aws.world().clusters["prod"].access_entries[CREATOR].created_by_eks);

    // One way only.
    assert_eq!(
        update_mode(&client, AuthenticationMode::ConfigMap).await,
        Err((
            "InvalidParameterException".into(),
            "Unsupported authentication mode update from API_AND_CONFIG_MAP to CONFIG_MAP".into()
        ))
    );
    let id = update_mode(&client, AuthenticationMode::Api).await.unwrap();
    // DescribeCluster polls count too, so a waiter on cluster status never hangs.
    for _ in 0..3 {
        client.describe_cluster().name("prod").send().await.unwrap();
    }
    assert_eq!(poll(&client, &id).await, UpdateStatus::Successful);
    assert_eq!(aws.world().clusters["prod"].authentication_mode, "API");
    assert!(update_mode(&client, AuthenticationMode::ApiAndConfigMap)
        .await
        .is_err());
    let calls = aws.calls_by_operation();
    assert_eq!(calls["DescribeUpdate"], 5);
    assert_eq!(calls["UpdateClusterConfig"], 7);
}

#[tokio::test]
async fn old_platform_versions_cannot_enable_access_entries() {
    let mut w = world("CONFIG_MAP");
    w.clusters.get_mut("prod").unwrap().version = "1.28".into();
    w.clusters.get_mut("prod").unwrap().platform_version = "eks.5".into();
    let aws = Aws::start(w).await;
    let (c, _) = update_mode(&eks(&aws).await, AuthenticationMode::ApiAndConfigMap)
        .await
        .unwrap_err();
    assert_eq!(c, "InvalidRequestException");
}

#[tokio::test]
async fn list_access_entries_pages_with_max_results() {
    let aws = Aws::start(world("API_AND_CONFIG_MAP")).await;
    let client = eks(&aws).await;
    let roles: Vec<String> = (0..5)
        .map(|i| format!("arn:aws:iam::111122223333:role/team/r{i}"))
        .collect();
    for r in &roles {
        aws.with_world(|w| w.add_role(r).clone());
        client
            .create_access_entry()
            .cluster_name("prod")
            .principal_arn(r)
            .kubernetes_groups("team")
            .send()
            .await
            .unwrap();
    }
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_access_entries()
            .cluster_name("prod")
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages.push(out.access_entries().to_vec());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(pages.concat(), roles);

    let all: Vec<String> = client
        .list_access_entries()
        .cluster_name("prod")
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all, roles);

    for bad in [0, 101] {
        let e = client
            .list_access_entries()
            .cluster_name("prod")
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "InvalidParameterException");
    }
    let e = client
        .list_access_entries()
        .cluster_name("prod")
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
}

#[tokio::test]
async fn create_enforces_the_principal_rules() {
    let aws = Aws::start(world("API_AND_CONFIG_MAP")).await;
    let client = eks(&aws).await;
    let format = "The principalArn parameter format is not valid";
    let invalid = "The specified principalArn is invalid: invalid principal.";
    let cases = [
        (
            "arn:aws:sts::111122223333:assumed-role/dev/session",
            format,
        ),
        ("arn:aws:iam::111122223333:root", format),
        ("arn:aws:iam::111122223333:group/admins", format),
        ("not-an-arn", format),
        (
            SLR,
            "The caller is not allowed to modify access entries with a principalArn value of a Service Linked Role",
        ),
        ("arn:aws:iam::111122223333:role/ghost", invalid),
        // IAM knows the SSO role with its path only.
        (SSO_NO_PATH, invalid),
    ];
    for (principal, want) in cases {
        let (c, m) = create_err(&client, principal, None, &[], None).await;
        assert_eq!(c, "InvalidParameterException", "{principal}");
        assert_eq!(m, want, "{principal}");
    }

    // The SSO role with its path is accepted; its ARN travels percent-encoded in one segment.
    let out = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(SSO)
        .kubernetes_groups("admins")
        .send()
        .await
        .unwrap();
    let entry = out.access_entry().unwrap();
    assert_eq!(entry.r#type(), Some("STANDARD"));
    assert_eq!(
        entry.username(),
        Some("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/{{SessionName}}")
    );
    let described = client
        .describe_access_entry()
        .cluster_name("prod")
        .principal_arn(SSO)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.access_entry().unwrap().kubernetes_groups(),
        ["admins"]
    );
    assert!(described
        .access_entry()
        .unwrap()
        .access_entry_arn()
        .unwrap()
        .starts_with("arn:aws:eks:us-east-1:111122223333:access-entry/prod/role/111122223333/AWSReservedSSO_AdministratorAccess_0123456789abcdef/"));

    // Users default to their ARN; STANDARD entries may be cross-account.
    let out = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(out.access_entry().unwrap().username(), Some(ALICE));
    client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(CROSS)
        .username("deploy:{{SessionName}}")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn create_enforces_username_group_and_type_rules() {
    let aws = Aws::start(world("API_AND_CONFIG_MAP")).await;
    let client = eks(&aws).await;
    for (username, want) in [
        (
            "system:admin",
            Some("The username must not begin with system:"),
        ),
        ("eks:thing", Some("The username must not begin with eks:")),
        ("amazon:x", Some("The username must not begin with amazon:")),
        ("aws:x", None),
        ("iam:x", None),
        ("dev-{{SessionName}}", None),
        ("dev:{{SessionName}}-x", None),
        ("{{SessionName}}", None),
        ("dev:{{AccountID}}", None),
        ("dev:{{AccessKeyID}}", None),
        ("dev:{{EC2PrivateDNSName}}", None),
    ] {
        let (c, m) = create_err(&client, DEV, Some(username), &[], None).await;
        assert_eq!(c, "InvalidParameterException", "{username}");
        if let Some(want) = want {
            assert_eq!(m, want);
        }
    }
    let (c, m) = create_err(&client, DEV, None, &["devs", "system:masters"], None).await;
    assert_eq!(c, "InvalidParameterException");
    assert_eq!(
        m,
        "The kubernetes group name system:masters is invalid, it cannot start with system:"
    );
    for g in ["eks:x", "aws:x", "amazon:x", "iam:x", ""] {
        let (c, _) = create_err(&client, DEV, None, &[g], None).await;
        assert_eq!(c, "InvalidParameterException", "{g}");
    }

    // Node types: no username, no groups, roles of the cluster's account only.
    let (c, _) = create_err(
        &client,
        NODE_ROLE,
        Some("system:node:x"),
        &[],
        Some("EC2_LINUX"),
    )
    .await;
    assert_eq!(c, "InvalidParameterException");
    let (c, _) = create_err(&client, NODE_ROLE, None, &["nodes"], Some("EC2_LINUX")).await;
    assert_eq!(c, "InvalidParameterException");
    let (c, _) = create_err(&client, CROSS, None, &[], Some("EC2_LINUX")).await;
    assert_eq!(c, "InvalidParameterException");
    let (c, _) = create_err(&client, ALICE, None, &[], Some("FARGATE_LINUX")).await;
    assert_eq!(c, "InvalidParameterException");
    let (c, _) = create_err(&client, NODE_ROLE, None, &[], Some("LINUX")).await;
    assert_eq!(c, "InvalidParameterException");
    assert!(aws.world().clusters["prod"].access_entries.is_empty());

    let out = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(NODE_ROLE)
        .r#type("EC2_LINUX")
        .send()
        .await
        .unwrap();
    let e = out.access_entry().unwrap();
    assert_eq!(e.username(), Some("system:node:{{EC2PrivateDNSName}}"));
    assert_eq!(e.kubernetes_groups(), ["system:nodes"]);
    let out = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(FARGATE_ROLE)
        .r#type("FARGATE_LINUX")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.access_entry().unwrap().username(),
        Some("system:node:{{SessionName}}")
    );
    // No access policies on node entries, and no username/group changes either.
    let e = client
        .associate_access_policy()
        .cluster_name("prod")
        .principal_arn(NODE_ROLE)
        .policy_arn(VIEW)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = client
        .update_access_entry()
        .cluster_name("prod")
        .principal_arn(NODE_ROLE)
        .kubernetes_groups("extra")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");

    let ok = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .username("team:dev-{{SessionNameRaw}}")
        .kubernetes_groups("devs")
        .tags("owner", "platform")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.access_entry().unwrap().username(),
        Some("team:dev-{{SessionNameRaw}}")
    );
    let stored = aws.world().clusters["prod"].access_entries[DEV].clone();
    assert_eq!(stored.tags["owner"], "platform");
    assert!(!stored.created_by_eks);
}

#[tokio::test]
async fn duplicates_conflict_but_the_same_client_request_token_is_idempotent() {
    let aws = Aws::start(world("API")).await;
    let client = eks(&aws).await;
    let create = |token: &'static str| {
        client
            .create_access_entry()
            .cluster_name("prod")
            .principal_arn(DEV)
            .kubernetes_groups("devs")
            .client_request_token(token)
            .send()
    };
    let first = create("token-1").await.unwrap();
    let again = create("token-1").await.unwrap();
    assert_eq!(
        first.access_entry().unwrap().access_entry_arn(),
        again.access_entry().unwrap().access_entry_arn()
    );
    let e = create("token-2").await.unwrap_err();
    assert_eq!(code(&e), "ResourceInUseException");
    assert_eq!(
        message(&e),
        "The specified access entry resource is already in use on this cluster."
    );
    // The same token with a different body is a new request: it conflicts too.
    let e = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .kubernetes_groups("other")
        .client_request_token("token-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceInUseException");
    assert_eq!(aws.world().clusters["prod"].access_entries.len(), 1);
    assert_eq!(aws.calls_by_operation()["CreateAccessEntry"], 4);
}

#[tokio::test]
async fn update_and_delete_access_entries() {
    let aws = Aws::start(world("API_AND_CONFIG_MAP")).await;
    let client = eks(&aws).await;
    client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .kubernetes_groups("devs")
        .send()
        .await
        .unwrap();
    let out = client
        .update_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .username("dev:{{SessionName}}")
        .kubernetes_groups("devs")
        .kubernetes_groups("viewers")
        .send()
        .await
        .unwrap();
    let e = out.access_entry().unwrap();
    assert_eq!(e.username(), Some("dev:{{SessionName}}"));
    assert_eq!(e.kubernetes_groups(), ["devs", "viewers"]);
    assert_eq!(e.r#type(), Some("STANDARD"));
    let err = client
        .update_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .kubernetes_groups("system:masters")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = client
        .update_access_entry()
        .cluster_name("prod")
        .principal_arn(ALICE)
        .username("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");

    client
        .delete_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .send()
        .await
        .unwrap();
    let err = client
        .describe_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let err = client
        .delete_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn access_policies_associate_replace_list_and_disassociate() {
    let aws = Aws::start(world("API_AND_CONFIG_MAP")).await;
    let client = eks(&aws).await;

    let names: Vec<String> = client
        .list_access_policies()
        .max_results(4)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name().unwrap().to_string())
        .collect();
    for n in [
        "AmazonEKSAdminPolicy",
        "AmazonEKSAdminViewPolicy",
        "AmazonEKSClusterAdminPolicy",
        "AmazonEKSEditPolicy",
        "AmazonEKSViewPolicy",
    ] {
        assert!(names.iter().any(|x| x == n), "{n}");
    }
    let page = client
        .list_access_policies()
        .max_results(4)
        .send()
        .await
        .unwrap();
    assert_eq!(page.access_policies().len(), 4);
    assert!(page.next_token().is_some());
    assert_eq!(
        page.access_policies()[0].arn(),
        Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy")
    );

    for p in [DEV, ALICE] {
        client
            .create_access_entry()
            .cluster_name("prod")
            .principal_arn(p)
            .send()
            .await
            .unwrap();
    }
    let ns_scope = |ns: &[&str]| {
        let mut b = AccessScope::builder().r#type(AccessScopeType::Namespace);
        for n in ns {
            b = b.namespaces(*n);
        }
        b.build()
    };
    let associate = |principal: &'static str, policy: &'static str, scope: AccessScope| {
        client
            .associate_access_policy()
            .cluster_name("prod")
            .principal_arn(principal)
            .policy_arn(policy)
            .access_scope(scope)
            .send()
    };
    let out = associate(DEV, VIEW, ns_scope(&["default", "team-*"]))
        .await
        .unwrap();
    let assoc = out.associated_access_policy().unwrap();
    assert_eq!(
        assoc.access_scope().unwrap().namespaces(),
        ["default", "team-*"]
    );
    // Associating again replaces the scope.
    associate(
        DEV,
        VIEW,
        AccessScope::builder()
            .r#type(AccessScopeType::Cluster)
            .build(),
    )
    .await
    .unwrap();
    associate(
        DEV,
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
        ns_scope(&["apps"]),
    )
    .await
    .unwrap();
    associate(ALICE, VIEW, ns_scope(&["default"]))
        .await
        .unwrap();
    let stored = aws.world().clusters["prod"].access_entries[DEV]
        .policies
        .clone();
    assert_eq!(stored[VIEW], Scope::cluster());
    assert_eq!(stored.len(), 2);

    let listed: Vec<String> = client
        .list_associated_access_policies()
        .cluster_name("prod")
        .principal_arn(DEV)
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.policy_arn().unwrap().to_string())
        .collect();
    assert_eq!(
        listed,
        [
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
            VIEW
        ]
    );
    let filtered = client
        .list_access_entries()
        .cluster_name("prod")
        .associated_policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.access_entries(), [DEV]);

    // Scope and policy errors.
    let e = associate(DEV, VIEW, ns_scope(&[])).await.unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = associate(DEV, VIEW, ns_scope(&["Bad_Name"]))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = associate(
        DEV,
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSGodModePolicy",
        ns_scope(&["a"]),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let e = associate(
        DEV,
        "arn:aws:iam::aws:policy/AdministratorAccess",
        ns_scope(&["a"]),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = associate(CROSS, VIEW, ns_scope(&["a"])).await.unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    assert_eq!(
        message(&e),
        "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'."
    );

    client
        .disassociate_access_policy()
        .cluster_name("prod")
        .principal_arn(DEV)
        .policy_arn(VIEW)
        .send()
        .await
        .unwrap();
    let e = client
        .disassociate_access_policy()
        .cluster_name("prod")
        .principal_arn(DEV)
        .policy_arn(VIEW)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    // Deleting an entry deletes its associations.
    client
        .delete_access_entry()
        .cluster_name("prod")
        .principal_arn(ALICE)
        .send()
        .await
        .unwrap();
    client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(ALICE)
        .send()
        .await
        .unwrap();
    let out = client
        .list_associated_access_policies()
        .cluster_name("prod")
        .principal_arn(ALICE)
        .send()
        .await
        .unwrap();
    assert!(out.associated_access_policies().is_empty());
}

#[tokio::test]
async fn nodegroups_and_fargate_profiles() {
    let aws = Aws::start(world("CONFIG_MAP")).await;
    let client = eks(&aws).await;
    let ngs = client
        .list_nodegroups()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(ngs.nodegroups(), ["ng-1"]);
    let ng = client
        .describe_nodegroup()
        .cluster_name("prod")
        .nodegroup_name("ng-1")
        .send()
        .await
        .unwrap();
    assert_eq!(ng.nodegroup().unwrap().node_role(), Some(NODE_ROLE));
    let e = client
        .describe_nodegroup()
        .cluster_name("prod")
        .nodegroup_name("ng-2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let fps = client
        .list_fargate_profiles()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(fps.fargate_profile_names(), ["fp-default"]);
    let fp = client
        .describe_fargate_profile()
        .cluster_name("prod")
        .fargate_profile_name("fp-default")
        .send()
        .await
        .unwrap();
    assert_eq!(
        fp.fargate_profile().unwrap().pod_execution_role_arn(),
        Some(FARGATE_ROLE)
    );
    let e = client
        .describe_fargate_profile()
        .cluster_name("prod")
        .fargate_profile_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
}

#[tokio::test]
async fn eks_checks_the_access_key() {
    let aws = Aws::start(world("API")).await;
    let unknown = eks_as(&aws, "AKIAUNKNOWN", 1).await;
    let e = unknown.list_clusters().send().await.unwrap_err();
    assert_eq!(code(&e), "UnrecognizedClientException");
    let expired = eks_as(&aws, "EXPIRED", 1).await;
    let e = expired.list_clusters().send().await.unwrap_err();
    assert_eq!(code(&e), "ExpiredTokenException");
    // The other account sees none of this account's clusters.
    let other = eks_as(&aws, OTHER_KEY, 1).await;
    let out = other.list_clusters().send().await.unwrap();
    assert_eq!(out.clusters(), ["elsewhere"]);
}

#[tokio::test]
async fn iam_get_role_answers_in_the_callers_account() {
    let aws = Aws::start(world("CONFIG_MAP")).await;
    let iam = aws_sdk_iam::Client::new(&sdk_config(&aws, ADMIN_KEY, 3).await);
    let out = iam
        .get_role()
        .role_name("AWSReservedSSO_AdministratorAccess_0123456789abcdef")
        .send()
        .await
        .unwrap();
    let role = out.role().unwrap();
    assert_eq!(role.path(), "/aws-reserved/sso.amazonaws.com/eu-west-1/");
    assert_eq!(role.arn(), SSO);
    assert!(role.role_id().starts_with("AROA"));
    assert_eq!(
        role.role_name(),
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    );

    let e = iam.get_role().role_name("ghost").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchEntity");
    assert_eq!(message(&e), "The role with name ghost cannot be found.");
    assert!(e.into_service_error().is_no_such_entity_exception());
    // deployer lives in the other account: not visible from this one ...
    let e = iam
        .get_role()
        .role_name("deployer")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchEntity");
    // ... but is from there.
    aws.with_world(|w| {
        w.add_credentials(
            "AKIACROSS",
            "arn:aws:sts::444455556666:assumed-role/deployer/x",
        );
    });
    let iam_other = aws_sdk_iam::Client::new(&sdk_config(&aws, "AKIACROSS", 3).await);
    let out = iam_other
        .get_role()
        .role_name("deployer")
        .send()
        .await
        .unwrap();
    assert_eq!(out.role().unwrap().arn(), CROSS);
    // A path is not a name.
    let e = iam
        .get_role()
        .role_name("aws-reserved/sso.amazonaws.com/x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");

    let user = iam.get_user().user_name("alice").send().await.unwrap();
    assert_eq!(user.user().unwrap().arn(), ALICE);
    assert!(user.user().unwrap().user_id().starts_with("AIDA"));
    let e = iam.get_user().user_name("bob").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchEntity");
}

#[tokio::test]
async fn iam_list_roles_filters_by_path_and_pages() {
    let aws = Aws::start(world("CONFIG_MAP")).await;
    let iam = aws_sdk_iam::Client::new(&sdk_config(&aws, ADMIN_KEY, 3).await);
    let sso = iam
        .list_roles()
        .path_prefix("/aws-reserved/sso.amazonaws.com/")
        .send()
        .await
        .unwrap();
    assert_eq!(sso.roles().len(), 1);
    assert_eq!(sso.roles()[0].arn(), SSO);
    assert!(!sso.is_truncated());

    let first = iam.list_roles().max_items(2).send().await.unwrap();
    assert!(first.is_truncated());
    assert_eq!(first.roles().len(), 2);
    let second = iam
        .list_roles()
        .max_items(2)
        .marker(first.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(first.roles()[0].arn(), second.roles()[0].arn());

    let all = iam
        .list_roles()
        .max_items(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    // Seven roles of 111122223333 (the cross-account one is elsewhere).
    assert_eq!(all.len(), 7);
    assert!(all.iter().all(|r| r.arn().contains(":111122223333:")));
}

#[tokio::test]
async fn sts_identity_assume_role_and_bad_credentials() {
    let aws = Aws::start(world("CONFIG_MAP")).await;
    let sts = aws_sdk_sts::Client::new(&sdk_config(&aws, ADMIN_KEY, 3).await);
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(ACCT));
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111122223333:assumed-role/admin/jane@example.com")
    );
    assert!(me.user_id().unwrap().ends_with(":jane@example.com"));

    let assumed = sts
        .assume_role()
        .role_arn(DEV)
        .role_session_name("migrate-auth")
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials().unwrap();
    assert_eq!(creds.access_key_id(), "ASIADEVSESSION");
    assert_eq!(
        assumed.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::111122223333:assumed-role/dev/migrate-auth"
    );
    let as_dev = aws_sdk_sts::Client::new(&sdk_config(&aws, "ASIADEVSESSION", 1).await);
    let me = as_dev.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111122223333:assumed-role/dev/migrate-auth")
    );
    let e = sts
        .assume_role()
        .role_arn("arn:aws:iam::111122223333:role/admin")
        .role_session_name("x1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");

    let expired = aws_sdk_sts::Client::new(&sdk_config(&aws, "EXPIRED", 1).await);
    let e = expired.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");
    let unknown = aws_sdk_sts::Client::new(&sdk_config(&aws, "AKIANOBODY", 1).await);
    let e = unknown.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
    let iam = aws_sdk_iam::Client::new(&sdk_config(&aws, "EXPIRED", 1).await);
    let e = iam.get_role().role_name("dev").send().await.unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");
    let counts = aws.calls_by_operation();
    assert_eq!(counts["GetCallerIdentity"], 4);
    assert_eq!(counts["AssumeRole"], 2);
}

#[tokio::test]
async fn throttling_is_absorbed_by_sdk_retries_and_counted() {
    let aws = Aws::start(world("API")).await;
    aws.set_faults(Faults {
        throttle_every: Some(2),
        ..Faults::default()
    });
    let client = eks(&aws).await;
    for _ in 0..5 {
        client.describe_cluster().name("prod").send().await.unwrap();
    }
    let describes = aws.calls_by_operation()["DescribeCluster"];
    assert!(describes > 5, "{describes}");
    assert_eq!(aws.calls(), describes);

    // Without retries the throttle surfaces with its code.
    let once = eks_as(&aws, ADMIN_KEY, 1).await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        if let Err(e) = once.list_clusters().send().await {
            codes.push(code(&e));
        }
    }
    assert_eq!(codes, ["ThrottlingException", "ThrottlingException"]);

    // IAM/STS throttling (HTTP 400 Throttling) is retried too.
    let before = aws.calls();
    let sts = aws_sdk_sts::Client::new(&sdk_config(&aws, ADMIN_KEY, 3).await);
    for _ in 0..3 {
        sts.get_caller_identity().send().await.unwrap();
    }
    assert!(aws.calls() - before > 3);
}

#[tokio::test]
async fn fail_call_and_server_errors() {
    let aws = Aws::start(world("API")).await;
    aws.set_faults(Faults {
        fail_call: Some(1),
        ..Faults::default()
    });
    let once = eks_as(&aws, ADMIN_KEY, 1).await;
    let e = once.list_clusters().send().await.unwrap_err();
    assert_eq!(code(&e), "ServerException");
    once.list_clusters().send().await.unwrap();

    aws.set_faults(Faults {
        fail_call: Some(3),
        ..Faults::default()
    });
    let client = eks(&aws).await;
    client.list_clusters().send().await.unwrap();
    assert_eq!(aws.calls(), 4, "the 500 on call 3 was retried");

    aws.set_faults(Faults {
        server_error_every: Some(5),
        ..Faults::default()
    });
    // Call 5 answers 503.
    let e = once.list_clusters().send().await.unwrap_err();
    assert_eq!(code(&e), "ServiceUnavailableException");

    let iam = aws_sdk_iam::Client::new(&sdk_config(&aws, ADMIN_KEY, 1).await);
    aws.set_faults(Faults {
        fail_call: Some(aws.calls() + 1),
        ..Faults::default()
    });
    let e = iam.get_role().role_name("dev").send().await.unwrap_err();
    assert_eq!(code(&e), "ServiceFailure");

    aws.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let start = Instant::now();
    client.list_clusters().send().await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn reject_write_refuses_the_kth_write_once_and_is_not_retried() {
    let aws = Aws::start(world("API")).await;
    aws.set_faults(Faults {
        reject_write: Some(2),
        ..Faults::default()
    });
    let client = eks(&aws).await;
    // Reads are not writes: they do not count.
    client.list_clusters().send().await.unwrap();
    let create = |arn: &'static str| {
        client
            .create_access_entry()
            .cluster_name("prod")
            .principal_arn(arn)
            .send()
    };
    create(DEV).await.unwrap();
    let e = create(ALICE).await.unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
    assert_eq!(aws.writes(), 2, "the refusal was not retried");
    assert!(!aws.world().clusters["prod"]
        .access_entries
        .contains_key(ALICE));
    create(ALICE).await.unwrap();
    assert_eq!(aws.writes(), 3);
}

#[tokio::test]
async fn create_refuses_reserved_tags() {
    let aws = Aws::start(world("API")).await;
    let client = eks(&aws).await;
    let e = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .tags("aws:owner", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .tags("migrate-auth/run", "abc")
        .send()
        .await
        .unwrap();
    let entry = &aws.world().clusters["prod"].access_entries[DEV];
    assert_eq!(entry.tags["migrate-auth/run"], "abc");
}

#[tokio::test]
async fn writes_can_take_effect_and_still_fail() {
    let aws = Aws::start(world("API")).await;
    let client = eks(&aws).await;
    // Made, then answered 400: the client is told it failed.
    aws.set_faults(Faults {
        lose_write: Some(1),
        ..Faults::default()
    });
    let e = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
    assert!(aws.world().clusters["prod"]
        .access_entries
        .contains_key(DEV));
    // Made, then answered 500: the SDK retries with the same token, and the
    // retry answers the entry made, not a conflict.
    aws.set_faults(Faults {
        fail_after_write: Some(2),
        ..Faults::default()
    });
    client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(ALICE)
        .client_request_token("alice-1")
        .send()
        .await
        .unwrap();
    assert_eq!(aws.writes(), 3, "one retry");
    assert_eq!(aws.world().clusters["prod"].access_entries.len(), 2);
}

#[tokio::test]
async fn late_node_entries_are_made_just_before_a_create_for_them() {
    let mut w = world("CONFIG_MAP");
    w.clusters.get_mut("prod").unwrap().late_node_entries = true;
    let aws = Aws::start(w).await;
    let client = eks(&aws).await;
    let id = update_mode(&client, AuthenticationMode::ApiAndConfigMap)
        .await
        .unwrap();
    while poll(&client, &id).await != UpdateStatus::Successful {}
    let c = &aws.world().clusters["prod"];
    assert!(!c.access_entries.contains_key(NODE_ROLE), "not yet");
    assert!(c.owed_entries.contains_key(NODE_ROLE));
    let e = client
        .create_access_entry()
        .cluster_name("prod")
        .principal_arn(NODE_ROLE)
        .r#type("EC2_LINUX")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceInUseException");
    let c = &aws.world().clusters["prod"];
    assert!(c.access_entries[NODE_ROLE].created_by_eks);
    assert!(!c.owed_entries.contains_key(NODE_ROLE));
}

#[tokio::test]
async fn world_can_be_seeded_and_changed_directly() {
    let mut w = world("API");
    let mut entry = AccessEntry::standard(DEV);
    entry.kubernetes_groups = vec!["devs".into()];
    w.clusters
        .get_mut("prod")
        .unwrap()
        .access_entries
        .insert(DEV.into(), entry);
    let aws = Aws::start(w).await;
    let client = eks(&aws).await;
    let out = client
        .describe_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.access_entry().unwrap().username(),
        Some("arn:aws:sts::111122223333:assumed-role/dev/{{SessionName}}")
    );
    aws.with_world(|w| w.clusters.get_mut("prod").unwrap().access_entries.clear());
    let e = client
        .describe_access_entry()
        .cluster_name("prod")
        .principal_arn(DEV)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
}

/// EKS holds at most 3,000 access entries per cluster (Service Quotas
/// L-C56B9FC3, not adjustable): the next create is refused.
#[tokio::test]
async fn the_entry_quota_refuses_the_3001st_entry() {
    let mut w = world("API");
    let c = w.clusters.get_mut("prod").unwrap();
    for i in 0..3000 {
        let arn = format!("arn:aws:iam::111122223333:role/r{i}");
        c.access_entries
            .insert(arn.clone(), AccessEntry::standard(&arn));
    }
    let aws = Aws::start(w).await;
    let client = eks(&aws).await;
    let (c, m) = create_err(&client, DEV, None, &[], None).await;
    assert_eq!(c, "ResourceLimitExceededException");
    assert!(m.contains("3000"), "{m}");
    assert_eq!(aws.world().clusters["prod"].access_entries.len(), 3000);
}
