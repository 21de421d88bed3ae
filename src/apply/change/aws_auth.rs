//! Replacing aws-auth's data (the cleanup), and undoing it key by key. Every
//! write is made at the resourceVersion that was checked, so a concurrent
//! edit is never overwritten. Before the cleanup, the aws-auth it replaces is
//! saved in the cluster as `kube-system/aws-auth-backup-<run>` (labelled
//! with the run); the undo restores from that backup, and refuses when the
//! journal's copy differs (a journal is a file, and files can be edited).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use super::{ChangeError, Observed, Undone};
use crate::live::{Connection, LiveError};
use crate::migrate::steps::Step;
use crate::model::cluster::ConfigMapData;

fn api(c: &Connection) -> Api<ConfigMap> {
    Api::namespaced(c.kube.get(), "kube-system")
}

/// True for a 401: the token expired (it lasts 15 minutes).
fn unauthorized(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 401)
}

fn kube_err(what: &str, e: kube::Error) -> ChangeError {
    match e {
        kube::Error::Api(s) if s.code == 409 => ChangeError::AwsAuthChanged {
            message: format!(
                "{what}: kube-system/aws-auth was changed by someone else at the same moment (409 Conflict); it was not overwritten"
            ),
        },
        e => LiveError::Kubernetes {
            message: format!("{what}: {}", crate::live::kubernetes::describe(&e)),
        }
        .into(),
    }
}

fn changed(message: impl Into<String>) -> ChangeError {
    ChangeError::AwsAuthChanged {
        message: message.into(),
    }
}

/// Done when aws-auth holds `after`; to do while it holds `before`.
pub(super) async fn observe(
    c: &Connection,
    step: &Step,
    before: &ConfigMapData,
    after: &ConfigMapData,
) -> Result<Observed, ChangeError> {
    let (now, _) = read(c).await?;
    if now == *after {
        Ok(Observed::Done)
    } else if now != *before {
        Err(changed(
            "kube-system/aws-auth changed since the plan; it was not overwritten (plan again)",
        ))
    } else {
        Ok(Observed::Todo(step.clone()))
    }
}

/// The name of run `run`'s backup of aws-auth.
pub(crate) fn backup_name(run: &str) -> String {
    format!("aws-auth-backup-{run}")
}

/// Saves `before` as run `run`'s backup, then writes `after`, only while
/// aws-auth still holds `before`.
pub(super) async fn make(
    c: &Connection,
    before: &ConfigMapData,
    after: &ConfigMapData,
    run: &str,
) -> Result<(), ChangeError> {
    let (now, rv) = read(c).await?;
    if now != *before {
        return Err(changed(
            "kube-system/aws-auth changed since it was checked; it was not overwritten",
        ));
    }
    save_backup(c, before, run).await?;
    write(c, after, rv).await
}

/// Creates `kube-system/aws-auth-backup-<run>` holding `data`; one already
/// there (a resumed run) must hold the same.
async fn save_backup(c: &Connection, data: &ConfigMapData, run: &str) -> Result<(), ChangeError> {
    let name = backup_name(run);
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some("kube-system".into()),
            labels: Some(
                [
                    (
                        "app.kubernetes.io/managed-by".to_string(),
                        "migrate-auth".to_string(),
                    ),
                    (RUN_LABEL.to_string(), run.to_string()),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        data: Some(data.clone()),
        ..ConfigMap::default()
    };
    match api(c).create(&PostParams::default(), &cm).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => match backup(c, run).await? {
            Some(saved) if saved == *data => Ok(()),
            _ => Err(ChangeError::Backup {
                message: format!("kube-system/{name} exists and does not hold the aws-auth being replaced; aws-auth was not changed"),
            }),
        },
        Err(e) => Err(kube_err(&format!("saving kube-system/{name}"), e)),
    }
}

/// Run `run`'s backup of aws-auth, `None` when there is none.
///
/// # Errors
/// [`ChangeError`] when it cannot be read.
pub(crate) async fn backup(
    c: &Connection,
    run: &str,
) -> Result<Option<ConfigMapData>, ChangeError> {
    let name = backup_name(run);
    let got = api(c)
        .get_opt(&name)
        .await
        .map_err(|e| kube_err(&format!("reading kube-system/{name}"), e))?;
    Ok(got.map(|cm| cm.data.unwrap_or_default()))
}

/// The label that names the run a backup belongs to.
const RUN_LABEL: &str = "migrate-auth/run";

/// Key by key: a key the step changed is put back if it holds what the step
/// wrote, left if it holds what was there before, and never overwritten if
/// someone edited it since. What is put back comes from the run's backup in
/// the cluster, which must equal the journal's `before`.
pub(super) async fn undo(
    c: &Connection,
    before: &ConfigMapData,
    after: &ConfigMapData,
    run: &str,
) -> Result<Undone, ChangeError> {
    let (now, rv) = read(c).await?;
    let keys: BTreeSet<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    let mut restored = now.clone();
    let mut ours = false;
    for k in keys {
        if now.get(k) == before.get(k) {
            continue;
        }
        if now.get(k) != after.get(k) {
            return Err(changed(format!("kube-system/aws-auth key {k} was edited after this run changed it; it was not overwritten (the journal holds the data it had before the run)")));
        }
        ours = true;
        match before.get(k) {
            Some(v) => restored.insert(k.clone(), v.clone()),
            None => restored.remove(k),
        };
    }
    if !ours {
        return Ok(Undone::NothingToDo);
    }
    let name = backup_name(run);
    match backup(c, run).await? {
        Some(saved) if saved == *before => {}
        Some(_) => {
            return Err(ChangeError::Backup {
                message: format!("the journal's copy of aws-auth differs from the backup kube-system/{name} (the journal may have been edited); aws-auth was not changed: compare them, and restore with kubectl if needed"),
            })
        }
        None => {
            return Err(ChangeError::Backup {
                message: format!("kube-system/{name}, the backup of aws-auth this run saved, is missing; aws-auth is not written from the journal alone and was not changed"),
            })
        }
    }
    write(c, &restored, rv).await?;
    Ok(Undone::Restored)
}

/// aws-auth's data and resourceVersion (empty data when it is absent).
async fn read(c: &Connection) -> Result<(ConfigMapData, Option<String>), ChangeError> {
    let mut got = api(c).get_opt("aws-auth").await;
    if got.as_ref().is_err_and(unauthorized) && c.kube.renew().await? {
        got = api(c).get_opt("aws-auth").await;
    }
    let cm = got.map_err(|e| kube_err("reading kube-system/aws-auth", e))?;
    Ok(match cm {
        // A ConfigMap without data holds no keys.
        Some(cm) => (cm.data.unwrap_or_default(), cm.metadata.resource_version),
        None => (ConfigMapData::new(), None),
    })
}

/// Replaces aws-auth's data, only at `resource_version`.
async fn write(
    c: &Connection,
    data: &ConfigMapData,
    resource_version: Option<String>,
) -> Result<(), ChangeError> {
    let mut got = api(c).get("aws-auth").await;
    if got.as_ref().is_err_and(unauthorized) && c.kube.renew().await? {
        got = api(c).get("aws-auth").await;
    }
    let mut cm = got.map_err(|e| kube_err("reading kube-system/aws-auth", e))?;
    if cm.metadata.resource_version != resource_version {
        return Err(changed(
            "kube-system/aws-auth changed while it was being updated; it was not overwritten",
        ));
    }
    cm.data = Some(data.clone());
    api(c)
        .replace("aws-auth", &PostParams::default(), &cm)
        .await
        .map_err(|e| kube_err("updating kube-system/aws-auth", e))?;
    Ok(())
}
