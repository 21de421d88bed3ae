//! Creating and updating an access entry (CreateAccessEntry,
//! UpdateAccessEntry), and undoing either: a created entry is deleted only if
//! it carries this run's tag and still holds what the run set; an update is
//! set back field by field while the field holds what the run set.

use super::{entry_now, entry_now_as, removed, sorted, ChangeError, Observed, Undone, RUN_TAG};
use crate::live::aws::error;
use crate::live::eks::Fetch;
use crate::live::Connection;
use crate::migrate::steps::Step;
use crate::model::cluster::CurrentEntry;
use crate::model::entry::EntryType;

/// The entry a `CreateEntry` step makes.
#[derive(Clone, Copy)]
pub(super) struct NewEntry<'a> {
    pub(super) principal_arn: &'a str,
    pub(super) entry_type: EntryType,
    pub(super) username: &'a Option<String>,
    pub(super) kubernetes_groups: &'a [String],
}

/// What an `UpdateEntry` step sets, and what it replaced.
#[derive(Clone, Copy)]
pub(super) struct Update<'a> {
    pub(super) principal_arn: &'a str,
    pub(super) username: &'a Option<String>,
    pub(super) kubernetes_groups: &'a Option<Vec<String>>,
    pub(super) previous_username: &'a Option<String>,
    pub(super) previous_kubernetes_groups: &'a Option<Vec<String>>,
}

/// The update that makes `have` carry `username` and `groups` (`None`:
/// leave as is), with the values it replaces; `Done` when it already does.
fn update_towards(
    have: &CurrentEntry,
    username: Option<String>,
    groups: Option<Vec<String>>,
) -> Observed {
    let username = username.filter(|u| have.username.as_ref() != Some(u));
    let groups = groups.filter(|g| sorted(g) != sorted(&have.kubernetes_groups));
    if username.is_none() && groups.is_none() {
        return Observed::Done;
    }
    Observed::Todo(Step::UpdateEntry {
        principal_arn: have.principal_arn.clone(),
        previous_username: username.as_ref().and(have.username.clone()),
        previous_kubernetes_groups: groups.as_ref().map(|_| have.kubernetes_groups.clone()),
        username,
        kubernetes_groups: groups,
    })
}

/// To do when there is no entry. An entry already there (EKS made it at the
/// switch, or someone did) is made what aws-auth says, as an update that can
/// be undone; one of another type is an error, since EKS cannot change it.
pub(super) async fn observe_create(
    c: &Connection,
    step: &Step,
    entry: &NewEntry<'_>,
) -> Result<Observed, ChangeError> {
    let NewEntry {
        principal_arn,
        entry_type,
        username,
        kubernetes_groups,
    } = *entry;
    // Before a create the entry is mostly absent: one call, not two.
    let Some(have) = entry_now_as(c, principal_arn, Fetch::EntryFirst).await? else {
        return Ok(Observed::Todo(step.clone()));
    };
    let have = have.entry;
    if have.entry_type != entry_type {
        return Err(ChangeError::StateDiffers {
            operation: "DescribeAccessEntry",
            message: format!(
                "{principal_arn} already has a {} entry, not {entry_type}; EKS cannot change an entry's type",
                have.entry_type
            ),
        });
    }
    if !entry_type.is_standard() {
        return Ok(Observed::Done);
    }
    Ok(update_towards(
        &have,
        username.clone(),
        Some(kubernetes_groups.to_vec()),
    ))
}

/// The update still needed, with the values it replaces as found now.
pub(super) async fn observe_update(
    c: &Connection,
    to: &Update<'_>,
) -> Result<Observed, ChangeError> {
    let Update {
        principal_arn,
        username,
        kubernetes_groups,
        ..
    } = *to;
    let Some(have) = entry_now(c, principal_arn).await? else {
        return Err(ChangeError::StateDiffers {
            operation: "DescribeAccessEntry",
            message: format!("{principal_arn} has no access entry any more; plan again"),
        });
    };
    Ok(update_towards(
        &have.entry,
        username.clone(),
        kubernetes_groups.clone(),
    ))
}

/// CreateAccessEntry, tagged with the run.
pub(super) async fn make_create(
    c: &Connection,
    entry: &NewEntry<'_>,
    run: &str,
    token: &str,
) -> Result<(), ChangeError> {
    let NewEntry {
        principal_arn,
        entry_type,
        username,
        kubernetes_groups,
    } = *entry;
    let _turn = c.turn().await;
    c.eks
        .create_access_entry()
        .cluster_name(&c.cluster.name)
        .principal_arn(principal_arn)
        .r#type(entry_type.as_str())
        .set_username(username.clone())
        .set_kubernetes_groups((!kubernetes_groups.is_empty()).then(|| kubernetes_groups.to_vec()))
        .tags(RUN_TAG, run)
        .client_request_token(token)
        .send()
        .await
        .map_err(|e| error("CreateAccessEntry", e))?;
    Ok(())
}

/// UpdateAccessEntry of the fields the step changes.
pub(super) async fn make_update(
    c: &Connection,
    to: &Update<'_>,
    token: &str,
) -> Result<(), ChangeError> {
    let Update {
        principal_arn,
        username,
        kubernetes_groups,
        ..
    } = *to;
    update_entry(
        c,
        principal_arn,
        username.as_deref(),
        kubernetes_groups.as_deref(),
        Some(token),
    )
    .await
}

/// Deletes the entry if this run created it and it still holds what the run
/// set (its policies go with it).
pub(super) async fn undo_create(
    c: &Connection,
    entry: &NewEntry<'_>,
    run: &str,
) -> Result<Undone, ChangeError> {
    let NewEntry {
        principal_arn,
        entry_type,
        username,
        kubernetes_groups,
    } = *entry;
    let Some(have) = entry_now(c, principal_arn).await? else {
        return Ok(Undone::NothingToDo);
    };
    if have.tags.get(RUN_TAG).map(String::as_str) != Some(run) {
        return Ok(Undone::Left {
            why: "this run did not create it (EKS or someone else did)".into(),
        });
    }
    let e = &have.entry;
    let same_user = username.is_none() || e.username == *username;
    let same_groups =
        !entry_type.is_standard() || sorted(&e.kubernetes_groups) == sorted(kubernetes_groups);
    if !same_user || !same_groups {
        return Err(ChangeError::ChangedSince {
            what: format!("the entry {principal_arn}"),
        });
    }
    let _turn = c.turn().await;
    let sent = c
        .eks
        .delete_access_entry()
        .cluster_name(&c.cluster.name)
        .principal_arn(principal_arn)
        .send()
        .await
        .map_err(|e| error("DeleteAccessEntry", e));
    removed(sent)
}

/// Sets each field back to its previous value while it holds ours.
pub(super) async fn undo_update(c: &Connection, to: &Update<'_>) -> Result<Undone, ChangeError> {
    let Update {
        principal_arn,
        username,
        kubernetes_groups,
        previous_username,
        previous_kubernetes_groups,
    } = *to;
    let Some(have) = entry_now(c, principal_arn).await? else {
        return Ok(Undone::NothingToDo);
    };
    let have = have.entry;
    let changed = |field: &str| ChangeError::ChangedSince {
        what: format!("the {field} of {principal_arn}"),
    };
    // Per field: back to the previous value if it holds ours.
    let mut set_user = None;
    if let (Some(ours), Some(prev)) = (username, previous_username) {
        if have.username.as_ref() == Some(ours) {
            set_user = Some(prev.as_str());
        } else if have.username.as_ref() != Some(prev) {
            return Err(changed("username"));
        }
    }
    let mut set_groups = None;
    if let (Some(ours), Some(prev)) = (kubernetes_groups, previous_kubernetes_groups) {
        let now = sorted(&have.kubernetes_groups);
        if now == sorted(ours) {
            set_groups = Some(prev.as_slice());
        } else if now != sorted(prev) {
            return Err(changed("groups"));
        }
    }
    if set_user.is_none() && set_groups.is_none() {
        return Ok(Undone::NothingToDo);
    }
    update_entry(c, principal_arn, set_user, set_groups, None).await?;
    Ok(Undone::Restored)
}

async fn update_entry(
    c: &Connection,
    principal_arn: &str,
    username: Option<&str>,
    groups: Option<&[String]>,
    token: Option<&str>,
) -> Result<(), ChangeError> {
    let _turn = c.turn().await;
    c.eks
        .update_access_entry()
        .cluster_name(&c.cluster.name)
        .principal_arn(principal_arn)
        .set_username(username.map(str::to_string))
        .set_kubernetes_groups(groups.map(<[String]>::to_vec))
        .set_client_request_token(token.map(str::to_string))
        .send()
        .await
        .map_err(|e| error("UpdateAccessEntry", e))?;
    Ok(())
}
