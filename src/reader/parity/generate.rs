//! The generated cases: a tiny deterministic PRNG, the [`Case`] type, the
//! choice of a class per case, and the building blocks (ARNs, names, items in
//! block or flow style) that the structured classes and mutations share.
//!
//! Case `i` of seed `s` depends on `(s, i)` only, so any case can be made again.

use super::{mutate, shapes, structured};

/// SplitMix64: small, fast, and good enough to pick test inputs.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True `percent` times out of a hundred.
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One generated ConfigMap `data`, with the class that made it.
#[derive(Debug, Clone)]
pub(super) struct Case {
    pub class: String,
    pub data: Vec<(String, String)>,
}

impl Case {
    pub(super) fn one(class: &str, key: &str, text: String) -> Case {
        Case {
            class: class.to_string(),
            data: vec![(key.to_string(), text)],
        }
    }
}

/// A data value of the corpus, `(key, text)`.
pub(super) type Sample = (String, String);

type Generator = fn(&mut Rng, &[Sample]) -> Case;

/// Every class with its weight (out of the sum of weights).
const CLASSES: &[(u64, Generator)] = &[
    (4, structured::control_char),
    (3, structured::bom),
    (4, structured::line_break),
    (4, structured::merge_key),
    (3, structured::binary_tag),
    (3, structured::tags),
    (3, structured::nan_inf),
    (5, structured::yaml11_scalar),
    (4, structured::field_name),
    (3, shapes::multi_doc),
    (3, shapes::comment_crlf_style),
    (3, shapes::json_form),
    (4, shapes::wrong_type),
    (4, shapes::sso),
    (4, shapes::duplicate_arn),
    (2, shapes::skippable),
    (3, shapes::anchor_alias),
    (14, mutate::by_char),
    (13, mutate::by_token),
    (13, mutate::by_structure),
];

/// Case `index` of `seed`.
pub(super) fn case(seed: u64, index: u64, corpus: &[Sample]) -> Case {
    let mut rng = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    rng.next();
    let total: u64 = CLASSES.iter().map(|(w, _)| w).sum();
    let mut roll = rng.next() % total;
    for (weight, generate) in CLASSES {
        if roll < *weight {
            let mut case = generate(&mut rng, corpus);
            for (_, text) in &mut case.data {
                cap(text);
            }
            return case;
        }
        roll -= weight;
    }
    unreachable!("the roll is below the total weight")
}

/// Keeps a value under 64 KiB, cutting at a character boundary.
fn cap(text: &mut String) {
    const LIMIT: usize = 64 * 1024 - 1;
    if text.len() > LIMIT {
        let mut end = LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

pub(super) const ACCOUNTS: &[&str] = &["111122223333", "444455556666", "012345678901"];

pub(super) fn role_arn(rng: &mut Rng) -> String {
    const NAMES: &[&str] = &[
        "Admin",
        "admin",
        "ADMIN",
        "eks-node",
        "NodeInstanceRole",
        "dev/ops",
        "AWSReservedSSO_Admin_0123456789abcdef",
        "ci-deployer",
        "Read.Only",
    ];
    format!(
        "arn:aws:iam::{}:role/{}",
        rng.pick(ACCOUNTS),
        rng.pick(NAMES)
    )
}

pub(super) fn user_arn(rng: &mut Rng) -> String {
    const NAMES: &[&str] = &["alice", "Alice", "bob", "ops/carol", "dave.smith"];
    format!(
        "arn:aws:iam::{}:user/{}",
        rng.pick(ACCOUNTS),
        rng.pick(NAMES)
    )
}

pub(super) fn username(rng: &mut Rng) -> String {
    const NAMES: &[&str] = &[
        "admin",
        "system:node:{{EC2PrivateDNSName}}",
        "ops:{{SessionName}}",
        "alice",
        "deployer",
        "\"{{SessionName}}\"",
    ];
    rng.pick(NAMES).to_string()
}

pub(super) fn group(rng: &mut Rng) -> String {
    const GROUPS: &[&str] = &[
        "system:masters",
        "system:bootstrappers",
        "system:nodes",
        "dev",
        "view-only",
        "eks:kube-proxy-windows",
    ];
    rng.pick(GROUPS).to_string()
}

/// A YAML group list of `groups` (already YAML scalars) as the value of a
/// field: flow (`[a, b]`) or block (on the following lines).
pub(super) fn groups_yaml(rng: &mut Rng, groups: &[String]) -> String {
    if groups.is_empty() || rng.chance(40) {
        return format!("[{}]", groups.join(", "));
    }
    let indent = if rng.chance(70) { "    " } else { "  " };
    groups.iter().map(|g| format!("\n{indent}- {g}")).collect()
}

/// A YAML list of one group.
pub(super) fn one_group(rng: &mut Rng) -> String {
    let g = group(rng);
    groups_yaml(rng, &[g])
}

/// One item's fields: `(name, YAML value text)`. A value starting with a
/// newline is a block value on the following lines.
pub(super) type Fields = Vec<(String, String)>;

pub(super) fn field(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_string(), value.into())
}

/// Renders items as a YAML list, block style or flow style per item (flow
/// only when no value is a block).
pub(super) fn render(rng: &mut Rng, items: &[Fields]) -> String {
    let mut out = String::new();
    for item in items {
        let flow_ok = item.iter().all(|(_, v)| !v.starts_with('\n'));
        if flow_ok && rng.chance(25) {
            let inner: Vec<String> = item.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            out.push_str(&format!("- {{{}}}\n", inner.join(", ")));
            continue;
        }
        if item.is_empty() {
            out.push_str("- {}\n");
        }
        for (i, (k, v)) in item.iter().enumerate() {
            let lead = if i == 0 { "- " } else { "  " };
            let sep = if v.starts_with('\n') { "" } else { " " };
            out.push_str(&format!("{lead}{k}:{sep}{v}\n"));
        }
    }
    out
}

/// The ARN field of `key` (`userarn` for `mapUsers`, else `rolearn`) and an
/// ARN of the matching kind.
pub(super) fn arn_for(rng: &mut Rng, key: &str) -> (&'static str, String) {
    if key == "mapUsers" {
        ("userarn", user_arn(rng))
    } else {
        ("rolearn", role_arn(rng))
    }
}

/// A plain, valid item for `key` (`mapRoles` or `mapUsers`).
pub(super) fn plain_item(rng: &mut Rng, key: &str) -> Fields {
    let (arn_field, arn) = arn_for(rng, key);
    let groups: Vec<String> = (0..rng.below(3)).map(|_| group(rng)).collect();
    let mut item = vec![field(arn_field, arn), field("username", username(rng))];
    if !groups.is_empty() || rng.chance(50) {
        item.push(field("groups", groups_yaml(rng, &groups)));
    }
    item
}

/// A valid value for `key`: a few plain items, or account ids.
pub(super) fn plain_value(rng: &mut Rng, key: &str) -> String {
    if key == "mapAccounts" {
        let n = 1 + rng.below(3);
        return (0..n)
            .map(|_| format!("- \"{}\"\n", rng.pick(ACCOUNTS)))
            .collect();
    }
    let items: Vec<Fields> = (0..1 + rng.below(3))
        .map(|_| plain_item(rng, key))
        .collect();
    render(rng, &items)
}

/// One of the two mapping keys.
pub(super) fn mapping_key(rng: &mut Rng) -> &'static str {
    ["mapRoles", "mapUsers"][rng.below(2)]
}

/// `text` with `insert` placed at a character boundary near `at`.
pub(super) fn insert_at(text: &str, at: usize, insert: &str) -> String {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}{insert}{}", &text[..at], &text[at..])
}
