//! Live IAM lookups: GetRole / GetUser to restore paths and to tell principals
//! that no longer exist, and ListRoles under `/aws-reserved/sso.amazonaws.com/`
//! to expand `sso` matchers. IAM answers only for the account of the
//! credentials, so principals of other accounts are not looked up here (never
//! resolved to a same-named role of the caller's account); the plan reports them.

use aws_sdk_iam::Client;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use super::aws::{code_of, error};
use super::LiveError;
use crate::arn::Arn;
use crate::inputs::iam::{IamDump, IamKind};

/// One principal to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Wanted {
    pub kind: IamKind,
    pub name: String,
}

/// Looks every `wanted` principal up in the credentials' account, at most
/// `concurrency` at a time and each call under `limit`.
///
/// # Errors
/// Anything but "no such entity", as the SDK reports.
pub async fn look_up(
    iam: &Client,
    wanted: Vec<Wanted>,
    concurrency: usize,
    limit: &Semaphore,
) -> Result<Vec<(Wanted, Option<String>)>, LiveError> {
    futures::stream::iter(wanted)
        .map(|w| async move {
            let _permit = limit.acquire().await;
            let arn = match w.kind {
                IamKind::Role => match iam.get_role().role_name(&w.name).send().await {
                    Ok(out) => out.role().map(|r| r.arn().to_string()),
                    Err(e) if code_of(&e) == Some("NoSuchEntity") => None,
                    Err(e) => return Err(error("GetRole", e)),
                },
                IamKind::User => match iam.get_user().user_name(&w.name).send().await {
                    Ok(out) => out.user().map(|u| u.arn().to_string()),
                    Err(e) if code_of(&e) == Some("NoSuchEntity") => None,
                    Err(e) => return Err(error("GetUser", e)),
                },
            };
            Ok((w, arn))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// Records what [`look_up`] found in `dump`.
pub fn record(answers: Vec<(Wanted, Option<String>)>, account: &str, dump: &mut IamDump) {
    for (w, arn) in answers {
        match arn.as_deref().map(Arn::parse) {
            Some(Ok(arn)) => dump.add_found(arn),
            _ => dump.add_absent(w.kind, account, &w.name),
        }
    }
}

/// Lists the IAM Identity Center roles of the credentials' `account`.
///
/// # Errors
/// As the SDK reports.
pub async fn list_sso_roles(
    iam: &Client,
    account: &str,
    dump: &mut IamDump,
) -> Result<(), LiveError> {
    let roles: Vec<_> = iam
        .list_roles()
        .path_prefix("/aws-reserved/sso.amazonaws.com/")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| error("ListRoles", e))?;
    let arns = roles
        .iter()
        .filter_map(|r| Arn::parse(r.arn()).ok())
        .collect();
    dump.add_sso_listing(account, arns);
    Ok(())
}
