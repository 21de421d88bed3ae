//! The lockout guard: before aws-auth loses mappings (`--cleanup-aws-auth`) or
//! stops counting (`--target-mode API`), it checks, on the entries as they will
//! be after the steps, that nobody is cut off: no `error` finding stands, every
//! migrated mapping has its entry, someone keeps cluster-admin, and the caller
//! keeps access. Before any apply, it refuses a plan EKS would refuse part-way
//! (more entries than the quota). Each failed check is a reason, in words.
//! Pure.

use std::collections::HashSet;

use crate::migrate::steps::Step;
use crate::model::arn::{principal_key, same_principal, Arn, PrincipalKey, PrincipalKind};
use crate::model::cluster::{AuthMode, CurrentEntry};
use crate::model::entry::{EntryType, ScopeType, CLUSTER_ADMIN_POLICY};
use crate::model::finding::{Code, Severity};
use crate::planner::Plan;
use crate::reader::{AwsAuth, Standing, Target};

/// Why the guard refuses; empty when it lets the steps through.
///
/// `after` is the projection of the access entries after `steps`; `kept` is
/// aws-auth as it will be (after any cleanup); `caller` is the ARN STS gives
/// for the caller (`None`: checked later, with [`caller_check`]).
pub fn check(
    plan: &Plan,
    steps: &[Step],
    after: &[CurrentEntry],
    kept: &AwsAuth,
    caller: Option<&str>,
) -> Vec<String> {
    // EKS would refuse the creates past its quota: refused whatever is asked.
    let mut always: Vec<String> = plan
        .findings
        .iter()
        .filter(|f| f.code == Code::EntryQuotaExceeded)
        .map(|f| format!("refusing the plan: {}: {}", f.code.as_str(), f.message))
        .collect();
    let Some(what) = guarded(steps) else {
        return always;
    };
    let mut why = Vec::new();
    for f in plan
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.code != Code::EntryQuotaExceeded)
    {
        let who = f
            .principal_arn
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        why.push(format!(
            "an error finding stands: {}{who}: {}",
            f.code.as_str(),
            f.message
        ));
    }
    for d in &plan.desired {
        if !after.iter().any(|e| e.principal_arn == d.principal_arn) {
            why.push(format!(
                "{} (aws-auth {}) would have no access entry",
                d.principal_arn, d.source
            ));
        }
    }
    why.extend(admin_check(!to_api(steps), after, kept));
    always.extend(why.into_iter().map(|w| format!("refusing {what}: {w}")));
    if let Some(caller) = caller {
        always.extend(caller_check(steps, after, kept, caller));
    }
    always
}

/// What the guarded steps do, in words; `None` when no step is guarded.
fn guarded(steps: &[Step]) -> Option<&'static str> {
    let cleanup = steps
        .iter()
        .any(|s| matches!(s, Step::ReplaceAwsAuth { .. }));
    match (cleanup, to_api(steps)) {
        (true, true) => Some("removing mappings from aws-auth and switching to API"),
        (true, false) => Some("removing mappings from aws-auth"),
        (false, true) => Some("switching to API"),
        (false, false) => None,
    }
}

/// Whether `steps` switch to API (aws-auth then stops counting).
fn to_api(steps: &[Step]) -> bool {
    steps.iter().any(|s| {
        matches!(
            s,
            Step::SwitchMode {
                to: AuthMode::Api,
                ..
            }
        )
    })
}

/// The aws-auth mappings that will still let someone in: live ones, while
/// aws-auth counts, for principals without an entry (an entry wins).
fn honoured<'a>(
    counts: bool,
    after: &'a [CurrentEntry],
    kept: &'a AwsAuth,
) -> impl Iterator<Item = &'a crate::reader::Mapping> + 'a {
    // The principals with an entry, looked up once per mapping (not compared
    // pair by pair: 5,000 mappings would be 25 million comparisons).
    let with_entry: HashSet<PrincipalKey> = match counts {
        true => after
            .iter()
            .filter_map(|e| principal_key(e.principal_arn.as_str()))
            .collect(),
        false => HashSet::new(),
    };
    kept.mappings.iter().filter(move |m| {
        counts
            && m.standing == Standing::Active
            && match &m.target {
                Target::Arn(a) => principal_key(a).is_none_or(|k| !with_entry.contains(&k)),
                Target::Sso(_) => true,
            }
    })
}

/// Someone keeps cluster-admin after `steps`: an entry with
/// AmazonEKSClusterAdminPolicy on the cluster, or a `system:masters` mapping
/// aws-auth still honours.
fn admin_check(counts: bool, after: &[CurrentEntry], kept: &AwsAuth) -> Option<String> {
    let admin_entry = after.iter().any(|e| {
        e.entry_type == EntryType::Standard
            && e.access_policies.iter().any(|p| {
                p.policy_arn.ends_with(&format!("/{CLUSTER_ADMIN_POLICY}"))
                    && p.access_scope.scope_type == ScopeType::Cluster
            })
    });
    let admin_mapping =
        honoured(counts, after, kept).any(|m| m.groups.iter().any(|g| g == "system:masters"));
    (!admin_entry && !admin_mapping).then(|| {
        format!(
            "nobody would keep cluster-admin: no access entry would have {CLUSTER_ADMIN_POLICY} on the cluster"
        )
    })
}

/// The caller keeps access after `steps`: an entry of theirs with a policy
/// or a group, or a mapping aws-auth still honours. Empty when it does, or
/// when no step is guarded.
pub fn caller_check(
    steps: &[Step],
    after: &[CurrentEntry],
    kept: &AwsAuth,
    caller: &str,
) -> Vec<String> {
    let Some(what) = guarded(steps) else {
        return Vec::new();
    };
    caller_loses(!to_api(steps), after, kept, caller)
        .map(|w| format!("refusing {what}: {w}"))
        .into_iter()
        .collect()
}

/// Why the caller would have no access with `after` and `kept` (`counts`:
/// whether aws-auth still counts), if so.
fn caller_loses(
    counts: bool,
    after: &[CurrentEntry],
    kept: &AwsAuth,
    caller: &str,
) -> Option<String> {
    let Some(me) = caller_principal(caller) else {
        return Some(format!(
            "the caller {caller} is not a role or user this tool can match with an access entry"
        ));
    };
    let by_entry = after.iter().any(|e| {
        same_principal(&e.principal_arn, &me)
            && e.entry_type == EntryType::Standard
            && (!e.access_policies.is_empty() || !e.kubernetes_groups.is_empty())
    });
    let by_mapping = honoured(counts, after, kept).any(|m| match &m.target {
        Target::Arn(a) => same_principal(a, &me) && !m.groups.is_empty(),
        Target::Sso(_) => false,
    });
    (!by_entry && !by_mapping).then(|| {
        format!(
            "you ({caller}) would lose access: no access entry with a policy or group would be yours, and no aws-auth mapping that counts"
        )
    })
}

/// Why undoing changes would lock someone out: `after` is the access
/// entries and aws-auth the undo would leave, `now` those there are, in
/// `mode`. Refuses for what the undo makes worse only (nobody keeping
/// cluster-admin, the caller losing access), not for what is already so;
/// names the principals whose entries the undo changes.
pub fn rollback_check(
    mode: AuthMode,
    (now, now_kept): (&[CurrentEntry], &AwsAuth),
    (after, kept): (&[CurrentEntry], &AwsAuth),
    caller: &str,
    touched: &[String],
) -> Vec<String> {
    let counts = mode != AuthMode::Api;
    let problems = |entries: &[CurrentEntry], kept: &AwsAuth| -> Vec<String> {
        admin_check(counts, entries, kept)
            .into_iter()
            .chain(caller_loses(counts, entries, kept, caller))
            .collect()
    };
    let already = problems(now, now_kept);
    let why: Vec<String> = problems(after, kept)
        .into_iter()
        .filter(|w| !already.contains(w))
        .collect();
    if why.is_empty() {
        return why;
    }
    let whom = if touched.is_empty() {
        String::new()
    } else {
        format!(" (the undo changes the entries of {})", touched.join(", "))
    };
    why.into_iter()
        .map(|w| format!("refusing the rollback: {w}{whom}"))
        .collect()
}

/// The IAM principal behind an STS caller ARN, as an ARN: an assumed role is
/// its role (STS does not give the role's path, and none is needed to match).
fn caller_principal(caller: &str) -> Option<String> {
    let a = Arn::parse(caller).ok()?;
    match a.kind {
        PrincipalKind::AssumedRole | PrincipalKind::Role => Some(format!(
            "arn:{}:iam::{}:role/{}",
            a.partition, a.account, a.name
        )),
        PrincipalKind::User => Some(a.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::steps::{self, Extras};

    const AWS_AUTH: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/admin
      username: admin
      groups: [system:masters]
    - rolearn: arn:aws:iam::111122223333:role/dev
      username: dev
      groups: [developers]
"#;

    fn run(text: &str, caller: &str, extras: Extras) -> Vec<String> {
        let plan =
            crate::plan_aws_auth_only("a", text.as_bytes(), Default::default()).expect("plans");
        let s = steps::steps(&plan, None, extras).expect("no cleanup");
        let after = steps::project(&plan.current.entries, &s);
        let empty = AwsAuth::default();
        check(&plan, &s, &after, &empty, Some(caller))
    }

    const API: Extras = Extras {
        cleanup_aws_auth: false,
        target_api: true,
    };

    /// Undoing the creation of the only admin entry while aws-auth no longer
    /// maps the admin is refused; with the mapping back in aws-auth (the
    /// cleanup undone too) it is not.
    #[test]
    fn a_rollback_that_leaves_nobody_admin_is_refused() {
        let plan =
            crate::plan_aws_auth_only("a", AWS_AUTH.as_bytes(), Default::default()).expect("plans");
        let made = steps::steps(&plan, None, Extras::default()).expect("no cleanup");
        let live = steps::project(&[], &made);
        let me = "arn:aws:sts::111122223333:assumed-role/admin/me";
        let changes: Vec<&Step> = made.iter().collect();
        let (after, _) = steps::unproject(&live, None, &changes);
        assert!(after.is_empty(), "{after:?}");
        let cleaned = AwsAuth::default();
        let now = (live.as_slice(), &cleaned);
        let why = rollback_check(AuthMode::ApiAndConfigMap, now, (&after, &cleaned), me, &[]);
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why.iter().any(|w| w.contains("cluster-admin")), "{why:?}");
        let mapped = crate::reader::read("a", AWS_AUTH.as_bytes()).unwrap();
        let why = rollback_check(AuthMode::ApiAndConfigMap, now, (&after, &mapped), me, &[]);
        assert!(why.is_empty(), "{why:?}");
        // In API mode aws-auth does not count.
        let why = rollback_check(AuthMode::Api, now, (&after, &mapped), me, &[]);
        assert_eq!(why.len(), 2, "{why:?}");
        // What is already so is not the rollback's doing.
        let why = rollback_check(AuthMode::Api, (&after, &mapped), (&after, &mapped), me, &[]);
        assert!(why.is_empty(), "{why:?}");
    }

    #[test]
    fn lets_an_admin_caller_through() {
        let why = run(
            AWS_AUTH,
            "arn:aws:sts::111122223333:assumed-role/admin/me",
            API,
        );
        assert!(why.is_empty(), "{why:?}");
    }

    #[test]
    fn refuses_when_the_caller_would_lose_access() {
        let why = run(
            AWS_AUTH,
            "arn:aws:sts::111122223333:assumed-role/other/me",
            API,
        );
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].contains("would lose access"), "{why:?}");
    }

    #[test]
    fn refuses_when_nobody_keeps_cluster_admin() {
        let text = AWS_AUTH.replace("system:masters", "readers");
        let why = run(
            &text,
            "arn:aws:sts::111122223333:assumed-role/admin/me",
            API,
        );
        assert!(why.iter().any(|w| w.contains("cluster-admin")), "{why:?}");
    }

    #[test]
    fn refuses_while_an_error_finding_stands() {
        let text = AWS_AUTH.replace("username: dev", "username: system:dev");
        let why = run(
            &text,
            "arn:aws:sts::111122223333:assumed-role/admin/me",
            API,
        );
        assert!(why.iter().any(|w| w.contains("error finding")), "{why:?}");
    }

    #[test]
    fn a_mapping_does_not_count_for_a_principal_whose_entry_wins() {
        let plan =
            crate::plan_aws_auth_only("a", AWS_AUTH.as_bytes(), Default::default()).expect("plans");
        let kept = crate::reader::read("a", AWS_AUTH.as_bytes()).expect("reads");
        // admin keeps its system:masters mapping, but has an entry without
        // any policy: the entry wins, so nobody is cluster-admin.
        let after = vec![CurrentEntry {
            principal_arn: "arn:aws:iam::111122223333:role/admin".into(),
            entry_type: EntryType::Standard,
            username: Some("admin".into()),
            kubernetes_groups: vec!["ops".into()],
            access_policies: Vec::new(),
            eks_owned: None,
        }];
        let steps = vec![Step::ReplaceAwsAuth {
            before: Default::default(),
            after: Default::default(),
        }];
        let why = check(&plan, &steps, &after, &kept, None);
        assert!(why.iter().any(|w| w.contains("cluster-admin")), "{why:?}");
        // The dev role has no entry: its mapping still lets it in.
        let why = caller_check(
            &steps,
            &after,
            &kept,
            "arn:aws:sts::111122223333:assumed-role/dev/me",
        );
        assert!(why.is_empty(), "{why:?}");
    }

    #[test]
    fn after_the_switch_to_api_a_mapping_keeps_nobody_in() {
        let plan =
            crate::plan_aws_auth_only("a", AWS_AUTH.as_bytes(), Default::default()).expect("plans");
        let kept = crate::reader::read("a", AWS_AUTH.as_bytes()).expect("reads");
        let no_entries: Vec<CurrentEntry> = Vec::new();
        let caller = "arn:aws:sts::111122223333:assumed-role/dev/me";
        let to_api = vec![Step::SwitchMode {
            from: AuthMode::ApiAndConfigMap,
            to: AuthMode::Api,
        }];
        let why = caller_check(&to_api, &no_entries, &kept, caller);
        assert!(
            why.iter().any(|w| w.contains("would lose access")),
            "{why:?}"
        );
        // The same mapping still counts while aws-auth does.
        let cleanup = vec![Step::ReplaceAwsAuth {
            before: Default::default(),
            after: Default::default(),
        }];
        assert!(caller_check(&cleanup, &no_entries, &kept, caller).is_empty());
        // And a migrated mapping without its entry is refused.
        let why = check(&plan, &to_api, &no_entries, &kept, None);
        assert!(
            why.iter().any(|w| w.contains("would have no access entry")),
            "{why:?}"
        );
    }

    #[test]
    fn says_nothing_without_cleanup_or_api() {
        let text = AWS_AUTH.replace("system:masters", "readers");
        let why = run(&text, "arn:aws:iam::111122223333:user/x", Extras::default());
        assert!(why.is_empty());
    }
}
