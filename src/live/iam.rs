//! Live IAM lookups: to restore paths and to tell principals that no longer
//! exist, one paginated ListRoles / ListUsers pass per account when many are
//! wanted (GetRole / GetUser each when few are, or where listing is denied),
//! and ListRoles under `/aws-reserved/sso.amazonaws.com/` to expand `sso`
//! matchers. IAM answers only for the account of the
//! credentials, so principals of other accounts are not looked up here (never
//! resolved to a same-named role of the caller's account); the plan reports them.

use std::collections::HashMap;
use std::sync::Arc;

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

/// Looks every `wanted` principal up in the credentials' account. A kind
/// wanted more often than one round of calls (`concurrency`), or any kind in
/// a fleet run (`shared`: the run's listings and this account), is read with
/// one paginated listing, which carries the paths; the rest, and a kind whose
/// listing is denied, with GetRole / GetUser each, at most `concurrency` at a
/// time. Every call is under `limit`.
///
/// # Errors
/// Anything but "no such entity" and "access denied", as the SDK reports.
pub async fn look_up(
    iam: &Client,
    wanted: Vec<Wanted>,
    (concurrency, limit): (usize, &Semaphore),
    shared: Option<(&Listings, &str)>,
) -> Result<Vec<(Wanted, Answer)>, LiveError> {
    let (roles, users): (Vec<Wanted>, Vec<Wanted>) =
        wanted.into_iter().partition(|w| w.kind == IamKind::Role);
    let one_kind = |list: Vec<Wanted>, kind: IamKind| async move {
        let listed = match shared {
            // A fleet lists each account once, for all its clusters.
            Some((listings, account)) if !list.is_empty() => {
                listings
                    .get(account, kind, || list_all(iam, kind, limit))
                    .await?
            }
            _ if list.len() > concurrency.max(1) => list_all(iam, kind, limit).await?,
            _ => None,
        };
        match listed {
            Some(listed) => Ok(from_listing(&listed, list)),
            None => get_each(iam, list, concurrency, limit).await,
        }
    };
    let (mut roles, users) = tokio::try_join!(
        one_kind(roles, IamKind::Role),
        one_kind(users, IamKind::User)
    )?;
    roles.extend(users);
    Ok(roles)
}

/// A principal listing: lower-cased name -> ARN; `None` when listing is denied.
type Listing = Option<Arc<HashMap<String, String>>>;

/// One listing, made once.
type Cell = Arc<tokio::sync::OnceCell<Listing>>;

/// The IAM listings of a fleet run, per account and kind, each made once by
/// the first cluster that needs it and shared with the others.
#[derive(Debug, Default)]
pub struct Listings {
    cells: std::sync::Mutex<HashMap<(String, IamKind), Cell>>,
}

impl Listings {
    /// The listing of `kind` in `account`, made with `list` if no cluster
    /// made it yet.
    ///
    /// # Errors
    /// `list`'s error (the next cluster tries again).
    async fn get<F, Fut>(
        &self,
        account: &str,
        kind: IamKind,
        list: F,
    ) -> Result<Option<HashMap<String, String>>, LiveError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<HashMap<String, String>>, LiveError>>,
    {
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((account.to_string(), kind))
            .or_default()
            .clone();
        let listed = cell
            .get_or_try_init(|| async { Ok::<_, LiveError>(list().await?.map(Arc::new)) })
            .await?;
        Ok(listed.as_deref().cloned())
    }
}

/// Every role (or user) of the credentials' account, as lower-cased name ->
/// ARN, or `None` when listing is denied.
///
/// # Errors
/// Anything but "access denied", as the SDK reports.
async fn list_all(
    iam: &Client,
    kind: IamKind,
    limit: &Semaphore,
) -> Result<Option<HashMap<String, String>>, LiveError> {
    let _permit = limit.acquire().await;
    let listed: Result<Vec<(String, String)>, LiveError> = match kind {
        IamKind::Role => iam
            .list_roles()
            .max_items(1000)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|all| {
                all.iter()
                    .map(|r| (r.role_name().to_string(), r.arn().to_string()))
                    .collect()
            })
            .map_err(|e| error("ListRoles", e)),
        IamKind::User => iam
            .list_users()
            .max_items(1000)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|all| {
                all.iter()
                    .map(|u| (u.user_name().to_string(), u.arn().to_string()))
                    .collect()
            })
            .map_err(|e| error("ListUsers", e)),
    };
    match listed {
        // IAM names are ASCII and unique whatever their case, and GetRole /
        // GetUser find them whatever the case asked.
        Ok(list) => Ok(Some(
            list.into_iter()
                .map(|(name, arn)| (name.to_ascii_lowercase(), arn))
                .collect(),
        )),
        Err(e) if e.kind() == Some(AwsErrorKind::AccessDenied) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The answers a listing gives: found (with the listed ARN), or absent.
fn from_listing(listed: &HashMap<String, String>, wanted: Vec<Wanted>) -> Vec<(Wanted, Answer)> {
    wanted
        .into_iter()
        .map(|w| {
            let answer = match listed.get(&w.name.to_ascii_lowercase()) {
                Some(arn) => Answer::Found(arn.clone()),
                None => Answer::Absent,
            };
            (w, answer)
        })
        .collect()
}

/// GetRole / GetUser for each of `wanted`, at most `concurrency` at a time.
///
/// # Errors
/// Anything but "no such entity" and "access denied", as the SDK reports.
async fn get_each(
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
