//! Live IAM lookups: GetRole / GetUser to restore paths and to tell principals
//! that no longer exist, and ListRoles under `/aws-reserved/sso.amazonaws.com/`
//! to expand `sso` matchers. IAM answers only for the account of the
//! credentials, so principals of other accounts are not looked up here (never
//! resolved to a same-named role of the caller's account); the plan reports them.

use aws_sdk_iam::Client;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use super::aws::{error, AwsErrorKind};
use super::LiveError;
use crate::inputs::iam::{IamDump, IamKind};
use crate::model::arn::Arn;

/// One principal to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Wanted {
    pub kind: IamKind,
    pub name: String,
}

/// What IAM said of one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It exists, with this ARN (path included).
    Found(String),
    /// NoSuchEntity.
    Absent,
    /// AccessDenied: the caller may not look it up, so it stays unverified.
    Denied,
}

/// Looks every `wanted` principal up in the credentials' account, at most
/// `concurrency` at a time and each call under `limit`.
///
/// # Errors
/// Anything but "no such entity" and "access denied", as the SDK reports.
pub async fn look_up(
    iam: &Client,
    wanted: Vec<Wanted>,
    concurrency: usize,
    limit: &Semaphore,
) -> Result<Vec<(Wanted, Answer)>, LiveError> {
    futures::stream::iter(wanted)
        .map(|w| async move {
            let _permit = limit.acquire().await;
            let result = match w.kind {
                IamKind::Role => iam
                    .get_role()
                    .role_name(&w.name)
                    .send()
                    .await
                    .map(|o| o.role().map(|r| r.arn().to_string()))
                    .map_err(|e| error("GetRole", e)),
                IamKind::User => iam
                    .get_user()
                    .user_name(&w.name)
                    .send()
                    .await
                    .map(|o| o.user().map(|u| u.arn().to_string()))
                    .map_err(|e| error("GetUser", e)),
            };
            let answer = match result {
                Ok(Some(arn)) => Answer::Found(arn),
                Ok(None) => {
                    return Err(LiveError::Unexpected {
                        operation: "GetRole/GetUser",
                        message: format!("no principal in the answer for {}", w.name),
                    })
                }
                Err(e) => match e.kind() {
                    Some(AwsErrorKind::NotFound) => Answer::Absent,
                    Some(AwsErrorKind::AccessDenied) => Answer::Denied,
                    _ => return Err(e),
                },
            };
            Ok((w, answer))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// Records what [`look_up`] found in `dump`.
pub fn record(answers: Vec<(Wanted, Answer)>, account: &str, dump: &mut IamDump) {
    dump.add_consulted(account);
    for (w, answer) in answers {
        match answer {
            Answer::Found(arn) => match Arn::parse(&arn) {
                Ok(arn) => dump.add_found(arn),
                Err(_) => dump.add_denied(account),
            },
            Answer::Absent => dump.add_absent(w.kind, account, &w.name),
            Answer::Denied => dump.add_denied(account),
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
