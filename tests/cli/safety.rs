//! The write path against an operator's mistakes and an attacker's files
//! (issue "writes that cannot lock anyone out"): each test reproduces one way
//! in and checks it is closed, against the emulators.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use crate::apply::{api_world, kube, MAP_ROLES};
use crate::live::{start, Live};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// A saved plan holds the cluster's aws-auth and entries: only its owner
/// reads it, and a symlink planted at `--out` is refused, its target left as
/// it was.
#[test]
fn a_saved_plan_is_private_and_never_written_through_a_symlink() {
    let live = start(api_world(), kube(MAP_ROLES));
    let file = live.home.join("plan.json");
    let r = live.run(&["plan", "--cluster", "prod", "--out", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&file), 0o600, "the plan file is private");

    let victim = live.home.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = live.home.join("planted.json");
    symlink(&victim, &link).unwrap();
    let r = live.run(&["plan", "--cluster", "prod", "--out", link.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// The default journal's folders are private, and a symlink planted at the
/// journal's path is refused before anything changes.
#[test]
fn the_journal_is_private_and_never_opened_through_a_symlink() {
    let live = start(api_world(), kube(MAP_ROLES));
    let state = live.home.join("state");
    let env = [("XDG_STATE_HOME", Some(state.to_str().unwrap()))];
    let r = live.run_env(&["apply", "--cluster", "prod", "--yes"], &env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let journal = state.join("migrate-auth/111122223333/us-east-1/prod.journal");
    assert_eq!(mode(&journal), 0o600);
    for dir in journal.ancestors().skip(1).take(4) {
        assert_eq!(mode(dir), 0o700, "{} is private", dir.display());
    }

    let live = start(api_world(), kube(MAP_ROLES));
    let victim = live.home.join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    symlink(&victim, live.journal()).unwrap();
    let writes = live.aws.writes() + live.kube.writes();
    let r = live.apply(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );
}

/// Item 7: EKS holds 3,000 entries per cluster. A plan past the quota is an
/// error finding, and apply refuses it before its first write (it used to
/// fail at the 3,001st create and roll back everything).
#[test]
fn apply_refuses_a_plan_past_the_entry_quota_before_any_write() {
    let mut w = api_world();
    let c = w.clusters.get_mut("prod").unwrap();
    for i in 0..2997 {
        let arn = format!("arn:aws:iam::111122223333:role/filler-{i}");
        c.access_entries
            .insert(arn.clone(), emulator::AccessEntry::standard(&arn));
    }
    let live = start(w, kube(MAP_ROLES));
    let r = live.run(&["plan", "--cluster", "prod", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let codes: Vec<&str> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"entry-quota-exceeded"), "{codes:?}");

    let writes = live.aws.writes() + live.kube.writes();
    let r = live.apply(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("entry-quota-exceeded"), "{}", r.stderr);
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );
}

/// Item 8: an existing entry decides who a principal is today. Updating it to
/// aws-auth's mapping (here: a namespace-scoped release manager whom aws-auth
/// maps to system:masters) is a warning that says what is gained, shown
/// before apply asks; `--keep-existing-entries` leaves the entry as it is.
#[test]
fn updating_an_existing_entry_says_what_it_gains_or_is_left_alone() {
    use emulator::{AccessEntry, Scope};
    let release = "arn:aws:iam::111122223333:role/ReleaseManager";
    let edit = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
    let world = || {
        let mut w = api_world();
        w.add_role(release);
        let mut e = AccessEntry::standard(release);
        e.username = "release".into();
        e.policies.insert(
            edit.into(),
            Scope {
                kind: "namespace".into(),
                namespaces: vec!["releases".into()],
            },
        );
        w.clusters
            .get_mut("prod")
            .unwrap()
            .access_entries
            .insert(release.into(), e);
        w
    };
    let map_roles = format!(
        "{MAP_ROLES}- rolearn: {release}\n  username: release\n  groups: [system:masters]\n"
    );
    let live = start(world(), kube(&map_roles));
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("entry-access-changes"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("gains AmazonEKSClusterAdminPolicy (cluster)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("decides who this principal is today"),
        "{}",
        r.stdout
    );

    let live = start(world(), kube(&map_roles));
    let before = live.aws.world().clusters["prod"].access_entries[release].clone();
    let r = live.apply(&["--keep-existing-entries"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("shadowed-by-entry"), "{}", r.stdout);
    let after = live.aws.world().clusters["prod"].access_entries[release].clone();
    assert_eq!(after.policies, before.policies);
    assert_eq!(after.username, before.username);
}

/// Item 5: text from aws-auth never reaches a terminal raw. A group holding
/// escape sequences that move the cursor and erase lines, and a username with
/// a right-to-left override, are shown escaped in the plan, in apply's diff
/// and report, and in the findings.
#[test]
fn hostile_text_never_reaches_the_terminal_raw() {
    let map_roles = format!(
        "{MAP_ROLES}- rolearn: arn:aws:iam::111122223333:role/evil\n  username: \"evil:\\u202E{{{{SessionName}}}}\"\n  groups: [\"x\\e[3A\\e[0J\", \"system:y\\e[2K\"]\n"
    );
    let raw = |s: &str| s.contains('\u{1b}') || s.contains('\u{202e}');
    let live = start(api_world(), kube(&map_roles));
    live.aws.with_world(|w| {
        w.add_role("arn:aws:iam::111122223333:role/evil");
    });
    let r = live.run(&["plan", "--cluster", "prod", "--color", "never"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("x\\u{1b}[3A"), "{}", r.stdout);
    assert!(!raw(&r.stdout) && !raw(&r.stderr), "{}", r.stdout);
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("x\\u{1b}[3A"), "{}", r.stdout);
    assert!(
        !raw(&r.stdout) && !raw(&r.stderr),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    // Errors name what they are about, escaped too.
    let r = live.run(&["plan", "--aws-auth-file", "no-such\u{1b}[2J\u{202e}file"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no-such\\u{1b}[2J"), "{}", r.stderr);
    assert!(!raw(&r.stderr), "{}", r.stderr);
}

/// What GitHub would make of a Markdown comment, by cmark-gfm (the `cmarkgfm`
/// package from PyPI, installed with pip when missing), as JSON:
///
/// - `found`: the headings, links, images and raw HTML tags it renders
///   (other than tables, paragraphs, lists, `<strong>`, `<br>`, `<code>`,
///   `<details>` and `<summary>`), and the @-mentions left in text outside
///   code;
/// - `errors`: tags closed out of order or left open, `<details>` inside
///   `<details>`;
/// - `tables`: every table as rows of cell texts (entities decoded);
/// - `sections`: each `<details>`: its `summary` text, its `tables` (the
///   indices into `tables`) and the `text` outside them.
pub(crate) fn cmark_gfm(markdown: &str) -> serde_json::Value {
    const SCRIPT: &str = r#"
import sys, re, json, html.parser
try:
    import cmarkgfm
except ImportError:
    # A fresh machine: fetch GitHub's renderer from PyPI once.
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "cmarkgfm"], check=True)
    import cmarkgfm
from cmarkgfm.cmark import Options
out = cmarkgfm.github_flavored_markdown_to_html(sys.stdin.read(), options=Options.CMARK_OPT_UNSAFE)
OURS = ("table", "thead", "tbody", "tr", "th", "td", "p", "strong", "ul", "li", "br", "code", "details", "summary")
VOID = ("br", "hr", "img", "input")
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.code = 0; self.found = []; self.errors = []; self.stack = []
        self.tables = []; self.sections = []; self.cell = None
    def handle_starttag(self, tag, attrs):
        if tag == "details" and "details" in self.stack:
            self.errors.append("<details> inside <details>")
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "code": self.code += 1
        if tag not in OURS: self.found.append("<" + tag + ">")
        if tag == "details": self.sections.append({"summary": "", "tables": [], "text": ""})
        if tag == "table":
            self.tables.append([])
            if "details" in self.stack: self.sections[-1]["tables"].append(len(self.tables) - 1)
        if tag == "tr": self.tables[-1].append([])
        if tag in ("td", "th"): self.cell = ""
    def handle_endtag(self, tag):
        if tag in VOID: return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:]))
            return
        self.stack.pop()
        if tag == "code": self.code -= 1
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self.cell); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
        if "summary" in self.stack: self.sections[-1]["summary"] += data
        elif "details" in self.stack and "table" not in self.stack: self.sections[-1]["text"] += data
        if not self.code:
            self.found += ["mention " + m for m in re.findall(r"@[A-Za-z0-9]", data)]
p = P(); p.feed(out); p.close()
if p.stack: p.errors.append("left open: " + " ".join(p.stack))
print(json.dumps({"found": " ".join(p.found), "errors": p.errors, "tables": p.tables, "sections": p.sections}))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write as _;
    let mut stdin = child.stdin.take().unwrap();
    let text = markdown.to_string();
    // Written from a thread: a large comment would fill the pipe otherwise.
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// Item 6: in `--output markdown`, no value from aws-auth can leave its table
/// cell: no image, link, raw HTML, heading or @-mention comes from input, as
/// GitHub's cmark-gfm renders it. Our own headings, sections and tables are
/// the only ones, every section is closed, and a value is shown as it is
/// written: a username with a backtick, a pipe, `<script>`, a link and a
/// mention is exactly the text of its cell.
#[test]
fn hostile_values_stay_inside_their_markdown_cells() {
    let file = crate::testdata().join("../tests/cli/data/hostile-aws-auth.yaml");
    let r = crate::run(&[
        "plan",
        "--aws-auth-file",
        file.to_str().unwrap(),
        "-o",
        "markdown",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = cmark_gfm(&r.stdout);
    assert_eq!(html["found"], "<h3>", "{}", r.stdout);
    assert_eq!(html["errors"], serde_json::json!([]), "{}", r.stdout);
    let sections = html["sections"].as_array().unwrap();
    assert!(
        sections
            .iter()
            .any(|s| s["summary"] == "create: 3 principals"),
        "{html}"
    );
    let rows: Vec<&serde_json::Value> = html["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t.as_array().unwrap())
        .collect();
    let tick = "a`b``|c<script>alert(1)</script>[link](x) @acme/security `x:{{SessionName}}";
    let row = rows
        .iter()
        .find(|r| r[0] == "arn:aws:iam::111122223333:role/tick")
        .expect("a row for role/tick");
    assert!(
        row.as_array().unwrap().iter().any(|c| c == tick),
        "the username as written: {row}"
    );
    // A message that quotes a value keeps its backticks too.
    let dead = rows
        .iter()
        .find(|r| r[0].as_str().unwrap().contains("role/x|<b>bold</b>"))
        .expect("a row for the invalid ARN");
    let reason = "the ARN is invalid: path `/x|<b>bold</b>|https://` is not a valid IAM path";
    assert!(
        dead.as_array().unwrap().iter().any(|c| c
            .as_str()
            .unwrap()
            .replace('\u{200b}', "")
            .starts_with(reason)),
        "{dead}"
    );
}

/// Item 3: a saved plan is checked against what its own options give for
/// the cluster now. One edited to add "create role/attacker with
/// AmazonEKSClusterAdminPolicy", with its checksum recomputed (the checksum
/// is unkeyed), is refused before any write.
#[test]
fn an_edited_plan_file_with_a_valid_checksum_is_refused() {
    let live = start(api_world(), kube(MAP_ROLES));
    live.aws.with_world(|w| {
        w.add_role("arn:aws:iam::111122223333:role/attacker");
    });
    let file = live.home.join("plan.json");
    let r = live.run(&["plan", "--cluster", "prod", "--out", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let attacker = "arn:aws:iam::111122223333:role/attacker";
    // The attacker copies the planned admin's steps, as the tool writes them.
    let steps = plan["steps"].as_array_mut().unwrap();
    let admin = "arn:aws:iam::111122223333:role/platform-admin";
    let mut added: Vec<serde_json::Value> = steps
        .iter()
        .filter(|s| s["principalArn"] == admin)
        .cloned()
        .collect();
    assert_eq!(added.len(), 2, "create and associate: {added:?}");
    for s in &mut added {
        s["principalArn"] = attacker.into();
    }
    steps.extend(added);
    std::fs::write(&file, crate::with_checksum(plan)).unwrap();

    applying_is_refused(&live, &file, "not what");
    assert!(!live.aws.world().clusters["prod"]
        .access_entries
        .contains_key(attacker));
}

/// A saved plan whose `wants` (what `export PLAN_FILE` writes) was edited,
/// checksum recomputed, is refused by apply too, though its steps are the
/// plan's own: the file says one thing, so it must mean it.
#[test]
fn an_edited_wants_with_a_valid_checksum_is_refused() {
    let live = start(api_world(), kube(MAP_ROLES));
    let file = live.home.join("plan.json");
    let r = live.run(&["plan", "--cluster", "prod", "--out", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let entries = plan["wants"]["entries"].as_array_mut().unwrap();
    let dev = entries
        .iter_mut()
        .find(|e| e["principalArn"] == "arn:aws:iam::111122223333:role/developer")
        .unwrap();
    dev["kubernetesGroups"] = serde_json::json!(["system:masters"]);
    std::fs::write(&file, crate::with_checksum(plan)).unwrap();

    applying_is_refused(&live, &file, "wanted entries");
}

/// `apply FILE` on `live` exits 1 saying `why`, and writes nothing.
fn applying_is_refused(live: &Live, file: &Path, why: &str) {
    let writes = live.aws.writes() + live.kube.writes();
    let r = live.run(&[
        "apply",
        "--yes",
        "--journal",
        live.journal().to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains(why), "{}", r.stderr);
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );
}

/// Item 2: rollback runs the lockout guard against the live state. Apply
/// (journal A) makes the entries, apply --cleanup-aws-auth (journal B) empties
/// aws-auth; rolling back A alone would delete the entries everyone now
/// depends on, the caller's included: it is refused, and nothing changes.
#[test]
fn rollback_refuses_to_lock_out_the_caller_and_every_admin() {
    let live = start(api_world(), kube(MAP_ROLES));
    let a = live.home.join("a.journal");
    let b = live.home.join("b.journal");
    let apply = |journal: &Path, extra: &[&str]| {
        let args = [
            &[
                "apply",
                "--cluster",
                "prod",
                "--yes",
                "--poll-interval",
                "20ms",
            ],
            &["--journal", journal.to_str().unwrap()][..],
            extra,
        ]
        .concat();
        live.run(&args)
    };
    let r = apply(&a, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = apply(&b, &["--cleanup-aws-auth"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    let writes = live.aws.writes() + live.kube.writes();
    let r = live.run(&["rollback", "--yes", "--journal", a.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("lockout guard"), "{}", r.stderr);
    assert!(r.stderr.contains("platform-admin"), "{}", r.stderr);
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );
}

/// Item 4: the cleanup saves the aws-auth it replaces in the cluster, as
/// `kube-system/aws-auth-backup-<run>` labelled with the run; rollback
/// restores from that backup, shows the aws-auth diff it will write, and
/// refuses a journal whose copy disagrees (here: edited to map an attacker to
/// system:masters), writing nothing.
#[test]
fn rollback_restores_aws_auth_from_the_backup_and_not_from_an_edited_journal() {
    let live = start(api_world(), kube(MAP_ROLES));
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let backups: Vec<(String, emulator::ConfigMap)> = live
        .kube
        .world()
        .config_maps
        .iter()
        .filter(|((ns, name), _)| ns == "kube-system" && name.starts_with("aws-auth-backup-"))
        .map(|((_, name), cm)| (name.clone(), cm.clone()))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let (name, backup) = &backups[0];
    assert_eq!(backup.data["mapRoles"], MAP_ROLES);
    let run = name.trim_start_matches("aws-auth-backup-");
    assert_eq!(backup.labels["migrate-auth/run"], run);

    // The journal's copy of aws-auth, edited.
    let journal = std::fs::read_to_string(live.journal()).unwrap();
    let evil = "- rolearn: arn:aws:iam::111122223333:role/attacker\\n  groups: [system:masters]\\n";
    let edited: String = journal
        .lines()
        .map(|l| {
            if l.contains("\"replaceAwsAuth\"") {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let evil = format!("{MAP_ROLES}{}", evil.replace("\\n", "\n"));
                v["change"]["before"]["mapRoles"] = evil.into();
                v.to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(edited, journal);
    std::fs::write(live.journal(), &edited).unwrap();
    let writes = live.aws.writes() + live.kube.writes();
    let r = live.rollback();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("backup"), "{}", r.stderr);
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );

    // The journal as it was: the rollback shows the diff and restores.
    std::fs::write(live.journal(), &journal).unwrap();
    let r = live.rollback();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("mapRoles (now)"), "{}", r.stdout);
    let k = live.kube.world();
    let aws_auth = &k.config_maps[&("kube-system".to_string(), "aws-auth".to_string())];
    assert_eq!(aws_auth.data["mapRoles"], MAP_ROLES);
}

/// `apply --cluster prod --yes` with `journal`, started in the background.
fn spawn_apply(live: &crate::live::Live, journal: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
        .args([
            "apply",
            "--cluster",
            "prod",
            "--yes",
            "--poll-interval",
            "20ms",
        ])
        .args(["--journal", journal.to_str().unwrap()])
        .current_dir(&live.home)
        .envs(live.env(&[]))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Item 1: one run at a time per cluster, whatever the journal. While
/// another run holds the cluster's lock (a laptop's apply, renewed a moment
/// ago), an apply is refused before its first write, naming the holder; a
/// human who knows that run is gone takes over with `--force-unlock RUN`.
#[test]
fn a_second_apply_is_refused_while_one_holds_the_cluster() {
    let live = start(api_world(), kube(MAP_ROLES));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let holder =
        "run 19abc0001 by arn:aws:sts::111122223333:assumed-role/platform-admin/laptop on laptop";
    live.kube.with_world(|k| {
        k.leases.insert(
            ("kube-system".into(), "migrate-auth".into()),
            emulator::Lease {
                spec: serde_json::json!({
                    "holderIdentity": holder,
                    "leaseDurationSeconds": 60,
                    "acquireTime": emulator::iso8601(now - 5),
                    "renewTime": emulator::iso8601(now - 1),
                }),
                resource_version: "1".into(),
                uid: "lease-uid".into(),
            },
        );
    });
    let writes = live.aws.writes() + live.kube.writes();
    let r = live.apply(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("holds the cluster's lock"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("19abc0001"), "{}", r.stderr);
    assert!(
        r.stdout.is_empty(),
        "nothing was planned or shown: {}",
        r.stdout
    );
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );

    let r = live.apply(&["--force-unlock", "19abc0001"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Took over"), "{}", r.stderr);
    assert!(
        emulator::lease_holders(&live.kube.world()).is_empty(),
        "released at the end"
    );
}

/// A free lock costs one round trip each way: a create (a Lease already
/// there answers 409, and only then is it read), and a delete at the
/// version the run last wrote (only a refused delete reads it first).
#[test]
fn a_free_lock_is_taken_with_one_call_and_released_with_one() {
    let live = start(api_world(), kube(MAP_ROLES));
    let started = std::time::Instant::now();
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let ops = live.kube.calls_by_operation();
    let n = |op: &str| ops.get(op).copied().unwrap_or(0);
    // A renewal (every 15 s) reads the Lease; a very slow machine may see one.
    let renewals = started.elapsed().as_secs() / 15;
    assert!(n("get leases") <= renewals, "{ops:?}");
    assert_eq!((n("create leases"), n("delete leases")), (1, 1), "{ops:?}");
    assert!(emulator::lease_holders(&live.kube.world()).is_empty());
}

/// Item 1, raced: two applies with different journals started at once, many
/// times. Each time, one applies and the other is refused by the lock or
/// finds nothing left to do; the cluster ends exactly as one apply leaves it.
#[test]
fn two_applies_started_at_once_never_both_change_the_cluster() {
    let expected = {
        let live = start(api_world(), kube(MAP_ROLES));
        let r = live.apply(&[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let w = live.aws.world();
        w.clusters["prod"]
            .access_entries
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    for round in 0..6 {
        let live = start(api_world(), kube(MAP_ROLES));
        live.aws.set_faults(emulator::Faults {
            latency: std::time::Duration::from_millis(5),
            ..emulator::Faults::default()
        });
        let a = spawn_apply(&live, &live.home.join(format!("a{round}.journal")));
        let b = spawn_apply(&live, &live.home.join(format!("b{round}.journal")));
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let mut applied = 0;
        for o in &outs {
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            match o.status.code() {
                Some(0) if stdout.contains("Apply complete") => applied += 1,
                Some(0) => assert!(stdout.contains("No changes."), "{stdout}"),
                Some(1) => assert!(stderr.contains("holds the cluster's lock"), "{stderr}"),
                other => panic!("round {round}: exit {other:?}: {stderr}"),
            }
        }
        assert_eq!(applied, 1, "round {round}");
        let w = live.aws.world();
        let entries: Vec<String> = w.clusters["prod"].access_entries.keys().cloned().collect();
        assert_eq!(entries, expected, "round {round}");
    }
}

/// Item 9: a pre-flight before the first write. With a Kubernetes token that
/// may only read, `apply --cleanup-aws-auth` used to make the entries and
/// fail at the cleanup (then undo them); it is refused before any write,
/// saying which permissions are missing.
#[test]
fn a_read_only_kubernetes_token_is_refused_before_any_write() {
    let live = start(api_world(), kube(MAP_ROLES));
    live.kube.with_world(|k| {
        let tokens = k.tokens.clone();
        k.read_only_tokens.extend(tokens);
    });
    let writes = live.aws.writes() + live.kube.writes();
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("pre-flight"), "{}", r.stderr);
    assert!(r.stderr.contains("update configmaps"), "{}", r.stderr);
    assert!(r.stderr.contains("create leases"), "{}", r.stderr);
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );
}

/// Starts `apply` (concurrency 1, slow emulators), waits until it has made
/// `writes` EKS writes, and sends it `times` SIGINTs, 100 ms apart.
fn interrupt_apply(live: &crate::live::Live, writes: u64, times: usize) -> std::process::Output {
    live.aws.set_faults(emulator::Faults {
        latency: std::time::Duration::from_millis(150),
        ..emulator::Faults::default()
    });
    let child = spawn_apply(live, &live.journal());
    let started = std::time::Instant::now();
    while live.aws.writes() < writes {
        assert!(started.elapsed().as_secs() < 60, "apply never wrote");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut child = child;
    for _ in 0..times {
        // Never signal a pid that may have been reused by another process.
        if child.try_wait().unwrap().is_some() {
            break;
        }
        // SAFETY: kill(2) on our own child's pid, which has not been reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    live.aws.set_faults(emulator::Faults::default());
    out
}

/// Item 10: Ctrl-C during apply. The first stops new changes, lets those under
/// way finish and be journaled, undoes the run's changes and says so, with
/// the journal; a second within 5 s leaves at once, saying how to go on, and
/// `rollback` then undoes what was made.
#[test]
fn ctrl_c_finishes_what_is_under_way_then_undoes_or_leaves_on_a_second() {
    let live = start(api_world(), kube(MAP_ROLES));
    let before = live.aws.world().clusters["prod"].access_entries.clone();
    let out = interrupt_apply(&live, 1, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("Interrupted: no new change starts"),
        "{stderr}"
    );
    assert!(stderr.contains("the run was interrupted"), "{stderr}");
    assert!(stderr.contains("were undone"), "{stderr}");
    assert_eq!(live.aws.world().clusters["prod"].access_entries, before);
    let journal = std::fs::read_to_string(live.journal()).unwrap();
    assert!(
        journal.trim_end().ends_with(r#""ending":"rolledBack"}"#),
        "{journal}"
    );

    let live = start(api_world(), kube(MAP_ROLES));
    let out = interrupt_apply(&live, 1, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("Interrupted again: leaving now"),
        "{stderr}"
    );
    assert!(stderr.contains("rollback --journal"), "{stderr}");
    let r = live.rollback();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(live.aws.world().clusters["prod"].access_entries, before);
}

/// Item 3, by its options: a plan file whose recorded options (overrides,
/// cleanup, target mode) were not given to apply is refused, even when its
/// steps are exactly what those options give: a file cannot choose them.
/// The operator who gives the same options applies it.
#[test]
fn a_plan_file_cannot_bring_its_own_overrides_or_extras() {
    let live = start(api_world(), kube(MAP_ROLES));
    live.aws.with_world(|w| {
        w.add_role("arn:aws:iam::111122223333:role/attacker");
    });
    let evil = live.home.join("evil-overrides.yaml");
    std::fs::write(
        &evil,
        "arn:aws:iam::111122223333:role/developer:\n  principalArn: arn:aws:iam::111122223333:role/attacker\n  accessPolicies:\n    - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy\n      accessScope: {type: cluster}\n",
    )
    .unwrap();
    let file = live.home.join("plan.json");
    let r = live.run(&[
        "plan",
        "--cluster",
        "prod",
        "--out",
        file.to_str().unwrap(),
        "--overrides",
        evil.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let writes = live.aws.writes() + live.kube.writes();
    let journal = live.journal();
    let apply = |extra: &[&str]| {
        let args = [
            &[
                "apply",
                "--yes",
                "--journal",
                journal.to_str().unwrap(),
                file.to_str().unwrap(),
            ][..],
            extra,
        ]
        .concat();
        live.run(&args)
    };
    let r = apply(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("--overrides"), "{}", r.stderr);
    assert_eq!(
        live.aws.writes() + live.kube.writes(),
        writes,
        "nothing changed"
    );
    let attacker = "arn:aws:iam::111122223333:role/attacker";
    assert!(!live.aws.world().clusters["prod"]
        .access_entries
        .contains_key(attacker));

    let r = apply(&["--overrides", evil.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(live.aws.world().clusters["prod"]
        .access_entries
        .contains_key(attacker));
}

/// Item 2, the other way: the guard refuses only what the rollback would
/// make worse. Admins mapped through an RBAC-bound group (no system:masters,
/// no admin policy) have no "cluster-admin" before or after; rolling back a
/// plain apply, with aws-auth as it was, is not refused for it.
#[test]
fn rollback_is_not_refused_for_what_is_already_so() {
    let map_roles = MAP_ROLES.replace("[system:masters]", "[platform-admins]");
    let live = start(api_world(), kube(&map_roles));
    let before = live.aws.world().clusters["prod"].access_entries.clone();
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = live.rollback();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(live.aws.world().clusters["prod"].access_entries, before);
}

/// Item 4, the other way: the backup is needed only to write aws-auth. With
/// aws-auth already put back by hand and the backup gone, rollback still
/// undoes the entries, and leaves aws-auth alone.
#[test]
fn rollback_needs_no_backup_when_aws_auth_is_already_back() {
    let live = start(api_world(), kube(MAP_ROLES));
    let before = live.aws.world().clusters["prod"].access_entries.clone();
    let r = live.apply(&["--cleanup-aws-auth"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let key = ("kube-system".to_string(), "aws-auth".to_string());
    let original = crate::apply::kube(MAP_ROLES).config_maps[&key].data.clone();
    live.kube.with_world(|k| {
        k.config_maps
            .retain(|(ns, name), _| !(ns == "kube-system" && name.starts_with("aws-auth-backup-")));
        k.put_config_map("kube-system", "aws-auth", original.clone());
    });
    let r = live.rollback();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(live.aws.world().clusters["prod"].access_entries, before);
    assert_eq!(live.kube.world().config_maps[&key].data, original);
}

/// The Lease's create takes effect but is answered 500 (a lost answer): the
/// Lease then names this run, which goes on holding it instead of refusing
/// itself until the lease expires.
#[test]
fn a_lock_made_but_answered_500_is_this_runs_own() {
    let clean = start(api_world(), kube(MAP_ROLES));
    let r = clean.apply(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The access reviews of the pre-flight come first, then the create.
    let ops = clean.kube.calls_by_operation();
    let create = ops["create selfsubjectaccessreviews"] + 1;
    let goal = crate::apply::state(&clean);
    let live = start(api_world(), kube(MAP_ROLES));
    live.kube.set_faults(emulator::Faults {
        fail_after_call: Some(create),
        ..emulator::Faults::default()
    });
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let ops = live.kube.calls_by_operation();
    assert_eq!(ops["create leases"], 1, "{ops:?}");
    assert_eq!(crate::apply::state(&live), goal);
    assert!(emulator::lease_holders(&live.kube.world()).is_empty());
}

/// Another run takes the lock over while this one runs (it
/// writes the Lease, so its resourceVersion moves): this run's release must
/// leave the other run's Lease alone.
#[test]
fn a_run_whose_lock_was_taken_over_leaves_the_new_holders_lease() {
    let live = start(api_world(), kube(MAP_ROLES));
    live.aws.set_faults(emulator::Faults {
        latency: std::time::Duration::from_millis(150),
        ..emulator::Faults::default()
    });
    let child = spawn_apply(&live, &live.journal());
    let started = std::time::Instant::now();
    while live.aws.writes() < 1 {
        assert!(started.elapsed().as_secs() < 60, "apply never wrote");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let other = "run 19abc0002 by arn:aws:iam::111122223333:user/other on elsewhere";
    live.kube.with_world(|k| {
        k.resource_version += 1;
        let rv = k.resource_version.to_string();
        let l = k
            .leases
            .get_mut(&("kube-system".to_string(), "migrate-auth".to_string()))
            .expect("the apply holds the lock");
        l.spec["holderIdentity"] = serde_json::json!(other);
        l.resource_version = rv;
    });
    let out = child.wait_with_output().unwrap();
    let holders = emulator::lease_holders(&live.kube.world());
    assert_eq!(
        holders.values().cloned().collect::<Vec<_>>(),
        [other.to_string()],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ops = live.kube.calls_by_operation();
    assert_eq!(ops.get("delete leases").copied(), Some(1), "{ops:?}");
}

/// The release's delete at the version last written is answered
/// 500: the release falls back to reading the Lease and deleting it.
#[test]
fn a_failed_release_delete_falls_back_to_read_and_delete() {
    let live = start(api_world(), kube(MAP_ROLES));
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The same apply again, on a cluster of its own: its last Kubernetes
    // call is the release's delete.
    let n = live.kube.calls();
    let live = start(api_world(), kube(MAP_ROLES));
    live.kube.set_faults(emulator::Faults {
        fail_call: Some(n),
        ..emulator::Faults::default()
    });
    let r = live.apply(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ops = live.kube.calls_by_operation();
    let c = |op: &str| ops.get(op).copied().unwrap_or(0);
    assert_eq!((c("get leases"), c("delete leases")), (1, 2), "{ops:?}");
    assert!(emulator::lease_holders(&live.kube.world()).is_empty());
}
