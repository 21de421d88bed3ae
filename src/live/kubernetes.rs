//! Reads from the cluster's Kubernetes API with kube-rs: the aws-auth
//! ConfigMap (absent is empty, not an error) and the RBAC bindings.
//!
//! The client comes from a kubeconfig, as kubectl finds it (`--kubeconfig`,
//! `KUBECONFIG`, `~/.kube/config`, `--context`), or, with no kubeconfig at all,
//! straight from DescribeCluster's endpoint and CA with an EKS token.

use std::path::PathBuf;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::LiveError;

/// How to reach the Kubernetes API.
#[derive(Debug, Clone, Default)]
pub struct KubeSettings {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// The kubeconfig files to use, merged in order like kubectl: `--kubeconfig`,
/// else the existing files of `KUBECONFIG` (a set KUBECONFIG never falls back),
/// else `~/.kube/config` when it exists. Empty: none.
pub fn kubeconfig_paths(settings: &KubeSettings) -> Vec<PathBuf> {
    if let Some(p) = &settings.kubeconfig {
        return vec![p.clone()];
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&v).filter(|p| p.exists()).collect();
    }
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".kube").join("config"))
        .filter(|p| p.exists())
        .into_iter()
        .collect()
}

/// A Kubernetes API error in words: the API server's message, its HTTP code
/// and reason; never the client's debug dump of the `Status`.
pub(crate) fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.message == s.reason || s.reason.is_empty() => {
            format!("{} (HTTP {})", s.message, s.code)
        }
        kube::Error::Api(s) => format!("{} (HTTP {} {})", s.message, s.code, s.reason),
        // The error and its causes (a connect or TLS failure), each once.
        other => super::in_words(other),
    }
}

fn kube_error(what: &str, e: impl std::fmt::Display) -> LiveError {
    LiveError::Kubernetes {
        message: format!("{what}: {e}"),
    }
}

/// A client from a kubeconfig file, refused unless its server is `endpoint`
/// (the cluster DescribeCluster names), so another cluster's aws-auth is never
/// planned against this cluster's entries.
///
/// # Errors
/// [`LiveError::Kubernetes`] when the file or context cannot be used, or
/// points at another cluster.
pub async fn from_kubeconfig(
    paths: &[PathBuf],
    context: Option<&str>,
    endpoint: Option<&str>,
) -> Result<Client, LiveError> {
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        let kc = read_kubeconfig(path)?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m
                .merge(kc)
                .map_err(|e| kube_error("merging kubeconfigs", e))?,
        });
    }
    let kc = merged.ok_or_else(|| kube_error("kubeconfig", "no file given"))?;
    let shown = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let mut config = Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| kube_error("using the kubeconfig", e))?;
    let server = config.cluster_url.to_string();
    if let Some(endpoint) = endpoint {
        if normalized(&server) != normalized(endpoint) {
            return Err(LiveError::Kubernetes {
                message: format!(
                    "the kubeconfig {shown} (context {}) points at {server}, but the cluster's endpoint is {endpoint}; choose the right --context or --kubeconfig",
                    context.unwrap_or("current")
                ),
            });
        }
    }
    config.read_timeout = Some(READ_TIMEOUT);
    Client::try_from(config).map_err(|e| kube_error("creating the client", e))
}

/// The kubeconfig at `path`, parsed once per process while the file stays
/// the same (inode, length, modification time): a fleet's clusters often
/// share one large file, and parsing it took 4% of a fleet apply's CPU. As
/// git does with its index, a file modified less than [`SETTLED`] before it
/// was read is not remembered: a write in the same clock tick could leave
/// its time unchanged.
fn read_kubeconfig(path: &std::path::Path) -> Result<Kubeconfig, LiveError> {
    use std::os::unix::fs::MetadataExt as _;
    type Stamp = (u64, u64, i64, i64);
    static PARSED: std::sync::Mutex<std::collections::BTreeMap<PathBuf, (Stamp, Kubeconfig)>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    let reading = |e: &dyn std::fmt::Display| kube_error(&format!("reading {}", path.display()), e);
    let read_at = std::time::SystemTime::now();
    let meta = std::fs::metadata(path).map_err(|e| reading(&e))?;
    let stamp = (meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec());
    let parsed = || PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((was, kc)) = parsed().get(path) {
        if *was == stamp {
            return Ok(kc.clone());
        }
    }
    let kc = Kubeconfig::read_from(path).map_err(|e| reading(&e))?;
    let settled = meta.modified().is_ok_and(|m| m + SETTLED < read_at);
    if settled {
        parsed().insert(path.to_path_buf(), (stamp, kc.clone()));
    }
    Ok(kc)
}

/// How long before it is read a kubeconfig must have been last modified for
/// [`read_kubeconfig`] to remember it.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

/// How long one Kubernetes read may take.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A server URL compared case-insensitively, without a trailing slash.
fn normalized(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

/// The Kubernetes client of a connection. A client from a kubeconfig renews
/// its credentials itself (kube-rs runs the exec plugin again). A client on an
/// EKS token this tool signed is renewed here: [`KubeClient::renew`] signs a
/// new token, since one lasts only 15 minutes and an apply may last longer.
#[derive(Clone)]
pub struct KubeClient {
    current: std::sync::Arc<std::sync::Mutex<Client>>,
    renew: Option<std::sync::Arc<MakeClient>>,
}

/// What makes a new client (a new token each time).
type MakeClient =
    dyn Fn() -> futures::future::BoxFuture<'static, Result<Client, LiveError>> + Send + Sync;

impl KubeClient {
    /// A client that cannot be renewed here (kubeconfig).
    pub fn fixed(client: Client) -> KubeClient {
        KubeClient {
            current: std::sync::Arc::new(std::sync::Mutex::new(client)),
            renew: None,
        }
    }

    /// A client made by `make`, which can make it again.
    ///
    /// # Errors
    /// What `make` fails with.
    pub async fn renewable<F>(make: F) -> Result<KubeClient, LiveError>
    where
        F: Fn() -> futures::future::BoxFuture<'static, Result<Client, LiveError>>
            + Send
            + Sync
            + 'static,
    {
        let client = make().await?;
        Ok(KubeClient {
            current: std::sync::Arc::new(std::sync::Mutex::new(client)),
            renew: Some(std::sync::Arc::new(make)),
        })
    }

    /// The client to use now.
    pub fn get(&self) -> Client {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes a new client (a new token); false when this one cannot be renewed here.
    ///
    /// # Errors
    /// [`LiveError`] when the new token cannot be made.
    pub async fn renew(&self) -> Result<bool, LiveError> {
        let Some(make) = &self.renew else {
            return Ok(false);
        };
        let client = make().await?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = client;
        Ok(true)
    }
}

/// A client straight from the cluster's endpoint, CA (base64 PEM) and a bearer token.
///
/// # Errors
/// [`LiveError::Kubernetes`] for a malformed endpoint or CA.
pub fn from_endpoint(
    endpoint: &str,
    ca_base64_pem: Option<&str>,
    token: String,
) -> Result<Client, LiveError> {
    let url = endpoint
        .parse::<http::Uri>()
        .map_err(|e| kube_error(&format!("endpoint {endpoint}"), e))?;
    let mut config = Config::new(url);
    config.default_namespace = "kube-system".into();
    if let Some(ca) = ca_base64_pem {
        config.root_cert = Some(pem_certificates(ca)?);
    }
    config.auth_info.token = Some(token.into());
    config.read_timeout = Some(READ_TIMEOUT);
    Client::try_from(config).map_err(|e| kube_error("creating the client", e))
}

/// The DER certificates in a base64-encoded PEM bundle.
fn pem_certificates(ca_base64_pem: &str) -> Result<Vec<Vec<u8>>, LiveError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pem = b64
        .decode(ca_base64_pem.trim())
        .map_err(|e| kube_error("the cluster's certificate authority", e))?;
    let pem = String::from_utf8_lossy(&pem);
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----BEGIN CERTIFICATE") {
            body = Some(String::new());
        } else if line.starts_with("-----END CERTIFICATE") {
            if let Some(b) = body.take() {
                certs.push(
                    b64.decode(b)
                        .map_err(|e| kube_error("a CA certificate", e))?,
                );
            }
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if certs.is_empty() {
        return Err(kube_error(
            "the cluster's certificate authority",
            "no PEM certificate in it",
        ));
    }
    Ok(certs)
}

/// One permission a run needs in the Kubernetes API.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub namespace: &'static str,
}

/// The permissions of `needs` the caller lacks, asked with
/// SelfSubjectAccessReviews (independent: all at once), as `verb resource
/// in namespace`, in the order of `needs`.
///
/// # Errors
/// [`LiveError::Kubernetes`] when a review cannot be made.
pub async fn missing_permissions(
    client: &Client,
    needs: &[Need],
) -> Result<Vec<String>, LiveError> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answers = futures::future::join_all(needs.iter().map(|n| {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(n.verb.into()),
                    group: Some(n.group.into()),
                    resource: Some(n.resource.into()),
                    namespace: Some(n.namespace.into()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api = &api;
        async move {
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| {
                    kube_error(
                        "asking what this caller may do (SelfSubjectAccessReview)",
                        describe(&e),
                    )
                })?;
            Ok::<_, LiveError>(answer.status.is_some_and(|s| s.allowed))
        }
    }))
    .await;
    // The first failure in the order of `needs`, as when asked one by one.
    let allowed: Vec<bool> = answers.into_iter().collect::<Result<_, _>>()?;
    Ok(needs
        .iter()
        .zip(allowed)
        .filter(|(_, allowed)| !allowed)
        .map(|(n, _)| format!("{} {} in {}", n.verb, n.resource, n.namespace))
        .collect())
}

/// The aws-auth ConfigMap, or `None` when it does not exist.
///
/// # Errors
/// [`LiveError::Kubernetes`] for anything but "not found".
pub async fn aws_auth(client: &Client) -> Result<Option<ConfigMap>, LiveError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    api.get_opt("aws-auth")
        .await
        .map_err(|e| kube_error("reading kube-system/aws-auth", describe(&e)))
}

/// Every ClusterRoleBinding and RoleBinding (listed at once), as a JSON
/// `List` the RBAC input reads.
///
/// # Errors
/// [`LiveError::Kubernetes`] when a list fails.
pub async fn rbac_bindings(client: &Client) -> Result<String, LiveError> {
    // Both lists at once, kept in this order (and so is a failure of both).
    let (mut items, mut role_bindings) = (Vec::new(), Vec::new());
    let (crb, rb) = futures::join!(
        list_all::<ClusterRoleBinding>(Api::all(client.clone()), "ClusterRoleBinding", &mut items),
        list_all::<RoleBinding>(Api::all(client.clone()), "RoleBinding", &mut role_bindings),
    );
    crb?;
    rb?;
    items.append(&mut role_bindings);
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    serde_json::to_string_pretty(&list).map_err(|e| kube_error("serialising the RBAC bindings", e))
}

/// Lists every object of a kind, page by page, into `out` with its `kind` set.
async fn list_all<K>(
    api: Api<K>,
    kind: &str,
    out: &mut Vec<serde_json::Value>,
) -> Result<(), LiveError>
where
    K: Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|e| kube_error(&format!("listing {kind}s"), describe(&e)))?;
        for item in &page.items {
            let mut v = serde_json::to_value(item)
                .map_err(|e| kube_error(&format!("serialising a {kind}"), e))?;
            v["kind"] = kind.into();
            out.push(v);
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// Renders a ConfigMap as `kubectl get -o yaml` would (data values as `|`
/// blocks), so findings point at lines a user can find in that output.
pub fn render_configmap(cm: &ConfigMap) -> String {
    let mut out = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n");
    let meta = &cm.metadata;
    out.push_str(&format!(
        "  name: {}\n",
        meta.name.as_deref().unwrap_or("aws-auth")
    ));
    out.push_str(&format!(
        "  namespace: {}\n",
        meta.namespace.as_deref().unwrap_or("kube-system")
    ));
    if let Some(rv) = &meta.resource_version {
        out.push_str(&format!("  resourceVersion: {}\n", json_string(rv)));
    }
    if let Some(uid) = &meta.uid {
        out.push_str(&format!("  uid: {uid}\n"));
    }
    let Some(data) = cm.data.as_ref().filter(|d| !d.is_empty()) else {
        return out;
    };
    out.push_str("data:\n");
    for (key, value) in data {
        let block_safe = !value.is_empty()
            && !value.starts_with([' ', '\n'])
            && value
                .lines()
                .all(|l| l == l.trim_end() && !l.contains('\t'))
            && !value.contains('\r');
        if block_safe {
            let chomp = if value.ends_with('\n') { "" } else { "-" };
            out.push_str(&format!("  {}: |{chomp}\n", plain_key(key)));
            for line in value.lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        } else {
            out.push_str(&format!("  {}: {}\n", plain_key(key), json_string(value)));
        }
    }
    out
}

/// A data key as kubectl prints it: plain when it is a ConfigMap key's usual
/// characters, quoted otherwise.
fn plain_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if plain {
        key.to_string()
    } else {
        json_string(key)
    }
}

fn json_string(s: &str) -> String {
    crate::yaml::double_quoted(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_kubeconfig_is_parsed_again_when_it_changes_and_not_before() {
        let dir = std::env::temp_dir().join(format!("migrate-auth-kc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config");
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let write = |name: &str, then: Option<std::time::SystemTime>| {
            let text = format!("apiVersion: v1\nkind: Config\ncontexts:\n- name: {name}\n  context: {{cluster: c, user: u}}\n");
            std::fs::write(&path, text).unwrap();
            if let Some(then) = then {
                std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(then)
                    .unwrap();
            }
        };
        let names = || -> Vec<String> {
            let kc = read_kubeconfig(&path).unwrap();
            kc.contexts.into_iter().map(|c| c.name).collect()
        };
        // Just written: read from the file each time.
        write("fresh", None);
        assert_eq!(names(), ["fresh"]);
        write("fresh", None);
        write("newer", None);
        assert_eq!(names(), ["newer"]);
        // Settled: remembered. A rewrite that keeps inode, length and time
        // (which a real write would not) shows that it is.
        write("first", Some(long_ago));
        assert_eq!(names(), ["first"]);
        write("other", Some(long_ago));
        assert_eq!(names(), ["first"]);
        // Any real change moves the time: parsed again.
        write("other", None);
        assert_eq!(names(), ["other"]);
        std::fs::remove_file(&path).unwrap();
        assert!(
            read_kubeconfig(&path).is_err(),
            "a file gone is not served from memory"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rendered_configmaps_read_back_with_the_same_data() {
        let mut data = BTreeMap::new();
        data.insert(
            "mapRoles".to_string(),
            "- rolearn: arn:aws:iam::111122223333:role/a\n  username: a\n\n  groups: [x]\n"
                .to_string(),
        );
        data.insert("mapUsers".to_string(), "- userarn: x  \n".to_string());
        data.insert("mapAccounts".to_string(), "- \"111122223333\"".to_string());
        let cm = ConfigMap {
            data: Some(data.clone()),
            metadata: kube::api::ObjectMeta {
                name: Some("aws-auth".into()),
                namespace: Some("kube-system".into()),
                resource_version: Some("42".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let text = render_configmap(&cm);
        let docs = crate::yaml::parse_documents(&text).unwrap();
        let back = docs[0].get("data").unwrap();
        for (k, v) in &data {
            assert_eq!(
                back.get(k).and_then(|n| n.as_str()),
                Some(v.as_str()),
                "{k} in\n{text}"
            );
        }
        assert!(text.contains("  mapRoles: |\n    - rolearn"), "{text}");
    }

    #[test]
    fn pem_bundles_give_der_certificates() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64.encode(b"der-bytes")
        );
        let certs = pem_certificates(&b64.encode(pem)).unwrap();
        assert_eq!(certs, vec![b"der-bytes".to_vec()]);
        assert!(pem_certificates(&b64.encode("nothing")).is_err());
    }
}
