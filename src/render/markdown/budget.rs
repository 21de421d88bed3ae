//! The size cap of the Markdown plan: GitHub refuses comments over 65,536
//! characters, so the comment stays under [`LIMIT`]. What is left after the
//! fixed parts is shared among the tables fairly: a table that needs less
//! than an equal share keeps all its rows, and what it leaves goes to the
//! others. A table cut short keeps its first rows.

/// The most a comment may hold, in bytes (never fewer than its characters).
pub(crate) const LIMIT: usize = 60_000;

/// The bytes each table may use, given each one's full size and the
/// `budget` they share.
pub(super) fn shares(sizes: &[usize], budget: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| sizes[i]);
    let mut left = budget;
    let mut out = vec![0; sizes.len()];
    for (k, &i) in order.iter().enumerate() {
        let fair = left / (sizes.len() - k);
        out[i] = sizes[i].min(fair);
        left -= out[i];
    }
    out
}

/// How many of `rows` (each with its line break) fit in `share` bytes.
pub(super) fn fitting(rows: &[String], share: usize) -> usize {
    let mut used = 0;
    rows.iter()
        .take_while(|r| {
            used += r.len() + 1;
            used <= share
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tables_keep_everything_and_large_ones_share_the_rest() {
        assert_eq!(shares(&[10, 20], 100), [10, 20]);
        assert_eq!(shares(&[10, 500, 300], 310), [10, 150, 150]);
        assert_eq!(shares(&[10, 500, 100], 310), [10, 200, 100]);
        assert_eq!(shares(&[5, 5], 0), [0, 0]);
        let rows: Vec<String> = ["abc", "de", "fghij"].map(String::from).to_vec();
        assert_eq!(fitting(&rows, 7), 2);
        assert_eq!(fitting(&rows, 6), 1);
        assert_eq!(fitting(&rows, 100), 3);
    }
}
