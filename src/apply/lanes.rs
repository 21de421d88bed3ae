//! Lanes: how the steps of a run (or the changes of a rollback) are ordered
//! and run concurrently. A mode switch or an aws-auth edit runs alone; the
//! entry steps between two such steps are grouped into one lane per principal
//! (its create or update, then its policies, in order), and `concurrency`
//! lanes run at a time. Once `stop` says so, no new segment starts.

use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use futures::{StreamExt, TryStreamExt};

use crate::migrate::steps::Step;
use crate::model::arn::PrincipalArn;

/// A poisoned lock still holds the data we journal: go on with it.
pub(crate) fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One unit of work: an item alone, or lanes of items to run concurrently.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Alone(usize),
    Lanes(Vec<Vec<usize>>),
}

/// Cuts `order` (item numbers in the order they run, `step` giving each
/// item's step) into segments: each item that runs alone, and each stretch
/// of lane items grouped by principal, keeping `order` within a lane.
fn segments<'a>(order: &[usize], step: impl Fn(usize) -> &'a Step) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut lanes: Vec<(&PrincipalArn, Vec<usize>)> = Vec::new();
    for &n in order {
        match step(n).principal() {
            Some(who) => match lanes.iter_mut().find(|(p, _)| *p == who) {
                Some((_, lane)) => lane.push(n),
                None => lanes.push((who, vec![n])),
            },
            None => {
                if !lanes.is_empty() {
                    out.push(Segment::Lanes(
                        std::mem::take(&mut lanes)
                            .into_iter()
                            .map(|(_, l)| l)
                            .collect(),
                    ));
                }
                out.push(Segment::Alone(n));
            }
        }
    }
    if !lanes.is_empty() {
        out.push(Segment::Lanes(lanes.into_iter().map(|(_, l)| l).collect()));
    }
    out
}

/// Runs the items of `order`: those alone with `alone`, the lanes with `lane`,
/// `concurrency` lanes at a time, until `stop` returns true.
///
/// # Errors
/// The first error `alone` or `lane` returns (the journal failed).
pub(crate) async fn run<'a, E, A, AF, L, LF>(
    order: &[usize],
    step: impl Fn(usize) -> &'a Step,
    concurrency: usize,
    stop: &dyn Fn() -> bool,
    alone: A,
    lane: L,
) -> Result<(), E>
where
    A: Fn(usize) -> AF,
    AF: Future<Output = Result<(), E>>,
    L: Fn(Vec<usize>) -> LF,
    LF: Future<Output = Result<(), E>>,
{
    for segment in segments(order, step) {
        if stop() {
            break;
        }
        match segment {
            Segment::Alone(n) => alone(n).await?,
            Segment::Lanes(lanes) => {
                futures::stream::iter(lanes)
                    .map(&lane)
                    .buffer_unordered(concurrency.max(1))
                    .try_collect::<Vec<()>>()
                    .await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cluster::AuthMode;

    fn create(arn: &str) -> Step {
        Step::CreateEntry {
            principal_arn: arn.into(),
            entry_type: crate::model::entry::EntryType::Standard,
            username: None,
            kubernetes_groups: Vec::new(),
            eks_owned: None,
        }
    }

    #[test]
    fn lanes_group_by_principal_between_steps_that_run_alone() {
        let switch = Step::SwitchMode {
            from: AuthMode::ConfigMap,
            to: AuthMode::ApiAndConfigMap,
        };
        let steps = [
            switch,
            create("arn:aws:iam::111122223333:role/A"),
            create("arn:aws:iam::111122223333:role/B"),
            create("arn:aws:iam::111122223333:role/a"),
        ];
        let forward: Vec<usize> = (0..steps.len()).collect();
        assert_eq!(
            segments(&forward, |n| &steps[n]),
            vec![Segment::Alone(0), Segment::Lanes(vec![vec![1, 3], vec![2]])]
        );
        let backward: Vec<usize> = forward.into_iter().rev().collect();
        assert_eq!(
            segments(&backward, |n| &steps[n]),
            vec![Segment::Lanes(vec![vec![3, 1], vec![2]]), Segment::Alone(0)]
        );
    }
}
