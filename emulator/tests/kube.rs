//! Drives the [`emulator::Kube`] server with the real kube-rs client: ConfigMap reads and writes
//! with resourceVersion conflicts, 404s, authentication, RBAC lists with paging, and faults.

use std::collections::BTreeMap;

use emulator::{Faults, Kube, KubeWorld};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Config};
use serde_json::json;

const TOKEN: &str = "test-token";

fn client(kube: &Kube, token: Option<&str>) -> Client {
    let mut config = Config::new(kube.endpoint().parse().unwrap());
    config.default_namespace = "kube-system".into();
    config.auth_info.token = token.map(|t| t.to_string().into());
    Client::try_from(config).unwrap()
}

fn api_status(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn aws_auth() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "mapRoles".to_string(),
        "- rolearn: arn:aws:iam::111122223333:role/dev\n  username: dev\n  groups: [devs]\n"
            .to_string(),
    )])
}

fn world() -> KubeWorld {
    let mut w = KubeWorld::with_token(TOKEN);
    w.put_config_map("kube-system", "aws-auth", aws_auth());
    for i in 0..5 {
        w.rbac.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": { "name": format!("binding-{i}"), "resourceVersion": "1" },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view" },
            "subjects": [ { "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("group-{i}") } ]
        }));
    }
    w.rbac.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": { "name": "view" },
        "rules": [ { "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"] } ]
    }));
    for ns in ["apps", "payments"] {
        w.rbac.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": { "name": "editors", "namespace": ns },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit" },
            "subjects": [ { "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "editors" } ]
        }));
    }
    w
}

#[tokio::test]
async fn get_and_replace_configmap_with_conflicts() {
    let kube = Kube::start(world()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client(&kube, Some(TOKEN)), "kube-system");
    let cm = cms.get("aws-auth").await.unwrap();
    assert_eq!(
        cm.data.as_ref().unwrap()["mapRoles"],
        aws_auth()["mapRoles"]
    );
    let rv = cm.metadata.resource_version.clone().unwrap();
    assert!(cm.metadata.uid.is_some());

    let mut changed = cm.clone();
    changed
        .data
        .as_mut()
        .unwrap()
        .insert("mapUsers".into(), "[]\n".into());
    let replaced = cms
        .replace("aws-auth", &PostParams::default(), &changed)
        .await
        .unwrap();
    let new_rv = replaced.metadata.resource_version.clone().unwrap();
    assert_ne!(new_rv, rv);
    assert_eq!(kube.world().resource_version.to_string(), new_rv);

    // Replacing with the stale copy conflicts.
    let (code, reason) = api_status(
        cms.replace("aws-auth", &PostParams::default(), &cm)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    let stored = kube.world().config_maps[&("kube-system".into(), "aws-auth".into())].clone();
    assert!(stored.data.contains_key("mapUsers"));
    assert_eq!(stored.resource_version, new_rv);

    // Merge patch with a stale resourceVersion conflicts; without one it applies.
    let stale = json!({ "metadata": { "resourceVersion": rv }, "data": { "mapAccounts": "[]" } });
    let (code, _) = api_status(
        cms.patch("aws-auth", &PatchParams::default(), &Patch::Merge(&stale))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 409);
    let patched = cms
        .patch(
            "aws-auth",
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": { "mapUsers": null, "mapAccounts": "[]" } })),
        )
        .await
        .unwrap();
    let data = patched.data.unwrap();
    assert!(!data.contains_key("mapUsers"));
    assert_eq!(data["mapAccounts"], "[]");
}

#[tokio::test]
async fn missing_configmaps_create_and_delete() {
    let kube = Kube::start(world()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client(&kube, Some(TOKEN)), "kube-system");
    let (code, reason) = api_status(cms.get("aws-auth-backup").await.unwrap_err());
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert!(cms.get_opt("aws-auth-backup").await.unwrap().is_none());

    let backup = ConfigMap {
        metadata: ObjectMeta {
            name: Some("aws-auth-backup".into()),
            ..Default::default()
        },
        data: Some(aws_auth()),
        ..Default::default()
    };
    let created = cms.create(&PostParams::default(), &backup).await.unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("kube-system"));
    let (code, reason) = api_status(
        cms.create(&PostParams::default(), &backup)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));

    let listed = cms.list(&ListParams::default()).await.unwrap();
    let names: Vec<_> = listed
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["aws-auth", "aws-auth-backup"]);

    cms.delete("aws-auth-backup", &DeleteParams::default())
        .await
        .unwrap();
    let (code, _) = api_status(
        cms.delete("aws-auth-backup", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 404);
    // Replacing a ConfigMap that does not exist is a 404, not a create.
    let (code, _) = api_status(
        cms.replace("aws-auth-backup", &PostParams::default(), &backup)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 404);
    // Invalid keys are refused.
    let mut bad = backup.clone();
    bad.data = Some(BTreeMap::from([("bad key".to_string(), "x".to_string())]));
    let (code, reason) = api_status(cms.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
}

#[tokio::test]
async fn labels_are_kept_and_checked_as_the_api_server_does() {
    let kube = Kube::start(world()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client(&kube, Some(TOKEN)), "kube-system");
    let with = |labels: &[(&str, &str)]| ConfigMap {
        metadata: ObjectMeta {
            name: Some("labelled".into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(aws_auth()),
        ..Default::default()
    };
    for bad in [
        ("migrate-auth/run", "-starts-with-a-dash"),
        ("migrate-auth/run", "has space"),
        ("Bad_Prefix.example/run", "ok"),
        ("", "ok"),
    ] {
        let (code, reason) = api_status(
            cms.create(&PostParams::default(), &with(&[bad]))
                .await
                .unwrap_err(),
        );
        assert_eq!((code, reason.as_str()), (422, "Invalid"), "{bad:?}");
    }
    let long = "x".repeat(64);
    let (code, _) = api_status(
        cms.create(&PostParams::default(), &with(&[("k", long.as_str())]))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 422);
    let good = [
        ("app.kubernetes.io/managed-by", "migrate-auth"),
        ("migrate-auth/run", "19a2b3c4"),
    ];
    let created = cms
        .create(&PostParams::default(), &with(&good))
        .await
        .unwrap();
    let labels = created.metadata.labels.unwrap();
    assert_eq!(labels["migrate-auth/run"], "19a2b3c4");
    assert_eq!(
        kube.world().config_maps[&("kube-system".to_string(), "labelled".to_string())].labels
            ["app.kubernetes.io/managed-by"],
        "migrate-auth"
    );
}

#[tokio::test]
async fn requests_need_a_valid_bearer_token() {
    let kube = Kube::start(world()).await;
    for token in [None, Some("wrong"), Some("k8s-aws-v1.abc")] {
        let cms: Api<ConfigMap> = Api::namespaced(client(&kube, token), "kube-system");
        let (code, reason) = api_status(cms.get("aws-auth").await.unwrap_err());
        assert_eq!((code, reason.as_str()), (401, "Unauthorized"), "{token:?}");
    }
    kube.with_world(|w| {
        w.accept_eks_tokens = true;
        w.eks_cluster = "prod".into();
        w.aws_secrets.insert("AKIDEXAMPLE".into(), "s3cret".into());
    });
    // A malformed EKS token, or one for another cluster, is refused; a good one is not.
    let now = std::time::SystemTime::now();
    let other = emulator::eks_token::signed(now, "AKIDEXAMPLE", "s3cret", "staging");
    for bad in ["k8s-aws-v1.abc", other.as_str()] {
        let cms: Api<ConfigMap> = Api::namespaced(client(&kube, Some(bad)), "kube-system");
        let (code, _) = api_status(cms.get("aws-auth").await.unwrap_err());
        assert_eq!(code, 401);
    }
    let good = emulator::eks_token::signed(now, "AKIDEXAMPLE", "s3cret", "prod");
    let cms: Api<ConfigMap> = Api::namespaced(client(&kube, Some(&good)), "kube-system");
    cms.get("aws-auth").await.unwrap();
    // The version is public.
    let v = client(&kube, None).apiserver_version().await.unwrap();
    assert_eq!((v.major.as_str(), v.minor.as_str()), ("1", "29"));
}

#[tokio::test]
async fn rbac_lists_page_with_limit_and_continue() {
    let kube = Kube::start(world()).await;
    let c = client(&kube, Some(TOKEN));
    let crbs: Api<ClusterRoleBinding> = Api::all(c.clone());
    let mut names = Vec::new();
    let mut pages = 0;
    let mut params = ListParams::default().limit(2);
    loop {
        let page = crbs.list(&params).await.unwrap();
        pages += 1;
        names.extend(page.items.iter().map(|b| b.metadata.name.clone().unwrap()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        (0..5).map(|i| format!("binding-{i}")).collect::<Vec<_>>()
    );

    let roles: Api<ClusterRole> = Api::all(c.clone());
    let view = roles.list(&ListParams::default()).await.unwrap();
    assert_eq!(view.items.len(), 1);
    assert_eq!(
        view.items[0].rules.as_ref().unwrap()[0].verbs,
        ["get", "list"]
    );
    assert_eq!(
        roles.get("view").await.unwrap().metadata.name.as_deref(),
        Some("view")
    );

    let all_rbs: Api<RoleBinding> = Api::all(c.clone());
    assert_eq!(
        all_rbs
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let apps: Api<RoleBinding> = Api::namespaced(c.clone(), "apps");
    let listed = apps.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].metadata.namespace.as_deref(), Some("apps"));
    let (code, _) = api_status(roles.get("cluster-admin").await.unwrap_err());
    assert_eq!(code, 404);
    assert!(kube.calls_by_operation()["list clusterrolebindings"] >= 3);
}

#[tokio::test]
async fn faults_are_retried_or_surface_as_status() {
    let kube = Kube::start(world()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client(&kube, Some(TOKEN)), "kube-system");
    kube.set_faults(Faults {
        server_error_every: Some(2),
        ..Faults::default()
    });
    for _ in 0..3 {
        cms.get("aws-auth").await.unwrap();
    }
    assert!(
        kube.calls() > 3,
        "kube-rs retried the 503s: {}",
        kube.calls()
    );

    kube.set_faults(Faults {
        fail_call: Some(kube.calls() + 1),
        ..Faults::default()
    });
    let (code, reason) = api_status(cms.get("aws-auth").await.unwrap_err());
    assert_eq!((code, reason.as_str()), (500, "InternalError"));

    kube.set_faults(Faults {
        throttle_every: Some(kube.calls() + 1),
        ..Faults::default()
    });
    let before = kube.calls();
    cms.get("aws-auth").await.unwrap();
    assert_eq!(
        kube.calls() - before,
        2,
        "one 429, retried after Retry-After"
    );
}

#[tokio::test]
async fn a_concurrent_edit_lands_before_the_next_write_and_a_write_can_be_rejected() {
    let kube = Kube::start(world()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client(&kube, Some(TOKEN)), "kube-system");
    let mut cm = cms.get("aws-auth").await.unwrap();
    kube.with_world(|w| {
        w.concurrent_edit = Some((
            "kube-system".into(),
            "aws-auth".into(),
            "mapUsers".into(),
            "- userarn: x\n".into(),
        ))
    });
    cm.data.as_mut().unwrap().remove("mapRoles");
    let (code, _) = api_status(
        cms.replace("aws-auth", &PostParams::default(), &cm)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        code, 409,
        "the edit landed first, so the read version is stale"
    );
    let now =
        kube.world().config_maps[&("kube-system".to_string(), "aws-auth".to_string())].clone();
    assert_eq!(now.data["mapUsers"], "- userarn: x\n");
    assert_eq!(now.data["mapRoles"], aws_auth()["mapRoles"]);
    assert!(kube.world().concurrent_edit.is_none(), "it lands once");

    kube.set_faults(Faults {
        reject_write: Some(kube.writes() + 1),
        ..Faults::default()
    });
    let mut fresh = cms.get("aws-auth").await.unwrap();
    fresh.data.as_mut().unwrap().remove("mapRoles");
    let (code, reason) = api_status(
        cms.replace("aws-auth", &PostParams::default(), &fresh)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    cms.replace("aws-auth", &PostParams::default(), &fresh)
        .await
        .unwrap();
}

#[tokio::test]
async fn read_only_tokens_are_forbidden_to_write_and_reviews_say_so() {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let mut w = world();
    w.read_only_tokens.insert(TOKEN.into());
    let kube = Kube::start(w).await;
    let c = client(&kube, Some(TOKEN));
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "kube-system");
    let cm = cms.get("aws-auth").await.unwrap();
    let (code, reason) = api_status(
        cms.replace("aws-auth", &PostParams::default(), &cm)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    let reviews: Api<SelfSubjectAccessReview> = Api::all(c);
    let ask = |verb: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                resource: Some("configmaps".into()),
                namespace: Some("kube-system".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    for (verb, allowed) in [
        ("get", true),
        ("list", true),
        ("update", false),
        ("create", false),
    ] {
        let answer = reviews
            .create(&PostParams::default(), &ask(verb))
            .await
            .unwrap();
        assert_eq!(answer.status.unwrap().allowed, allowed, "{verb}");
    }
    // The refused replace was a write request; the reviews are not.
    assert_eq!(kube.writes(), 1);
}
