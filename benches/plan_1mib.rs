//! Benchmark: parse and plan a 1 MiB aws-auth (the ConfigMap maximum, about
//! 5,000 mappings). Not a test: it measures and prints, and asserts nothing
//! about time. Run with `cargo bench --bench plan_1mib`; the README reports it.
//!
//! Two measurements:
//! - in-process: reader + mapper + planner, and the JSON renderer apart,
//!   medians of 20 runs after 5 warm-ups;
//! - end to end: the release binary, `plan -o json` on the file, wall time and
//!   peak RSS (getrusage of the children).

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use migrate_auth::Options;
use migrate_auth::{render, Format, Style};

/// A realistic aws-auth just under 1 MiB of data: node, Fargate, Windows and
/// SSO roles, team roles with groups, users, and a few broken mappings.
fn generate() -> (String, usize) {
    let mut roles = String::new();
    let mut users = String::new();
    let mut n = 0;
    while roles.len() + users.len() < 1_040_000 {
        let acct = if n % 7 == 0 {
            "444455556666"
        } else {
            "111122223333"
        };
        match n % 10 {
            0 => {
                let _ = write!(roles, "- rolearn: arn:aws:iam::111122223333:role/nodegroup-{n}-NodeInstanceRole\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n");
            }
            1 => {
                let _ = write!(roles, "- rolearn: arn:aws:iam::111122223333:role/fargate-{n}-PodExecutionRole\n  username: system:node:{{{{SessionName}}}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n    - system:node-proxier\n");
            }
            2 => {
                let _ = write!(roles, "- rolearn: arn:aws:iam::{acct}:role/AWSReservedSSO_Team{n}_0123456789abcdef\n  username: team{n}:{{{{SessionName}}}}\n  groups:\n    - team-{n}\n");
            }
            3..=6 => {
                let _ = write!(roles, "- rolearn: arn:aws:iam::{acct}:role/team-{n}-deployer\n  username: deployer-{n}:{{{{SessionName}}}}\n  groups:\n    - team-{n}-edit\n    - team-{n}-view\n    - system:masters\n");
            }
            7 | 8 => {
                let _ = write!(users, "- userarn: arn:aws:iam::{acct}:user/people/user-{n}\n  username: user-{n}\n  groups:\n    - developers\n");
            }
            _ => {
                let _ = write!(roles, "- rolearn: arn:aws:sts::111122223333:assumed-role/broken-{n}/session\n  username: \"{{{{SessionName}}}}\"\n  groups: system:masters\n");
            }
        }
        n += 1;
    }
    let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{}  mapUsers: |\n{}",
        indent(&roles),
        indent(&users)
    );
    (text, n)
}

fn peak_rss_kib(who: libc::c_int) -> i64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage.ru_maxrss
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let (text, mappings) = generate();
    let data_bytes = text.len();
    let options = Options::default();

    // In-process: warm up, then time planning and rendering apart.
    let mut plan_times = Vec::new();
    let mut render_times = Vec::new();
    let mut desired = 0;
    for i in 0..25 {
        let start = Instant::now();
        let plan = migrate_auth::plan_aws_auth_only("bench.yaml", text.as_bytes(), options)
            .expect("the generated aws-auth reads");
        let planned = start.elapsed();
        let json = render(
            &plan,
            Format::Json,
            Style {
                color: false,
                grouped: true,
            },
        );
        let rendered = start.elapsed() - planned;
        desired = plan.desired.len();
        std::hint::black_box(json);
        if i >= 5 {
            plan_times.push(planned);
            render_times.push(rendered);
        }
    }
    let self_peak = peak_rss_kib(libc::RUSAGE_SELF);

    // End to end: the release binary on a file.
    let path = std::env::temp_dir().join(format!("migrate-auth-bench-{}.yaml", std::process::id()));
    std::fs::write(&path, &text).expect("write the input");
    let mut wall = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_migrate-auth"))
            .args(["plan", "--aws-auth-file"])
            .arg(&path)
            .args(["-o", "json"])
            .stdout(Stdio::null())
            .status()
            .expect("the binary runs");
        wall.push(start.elapsed());
        assert!(status.success(), "the binary failed");
    }
    let child_peak = peak_rss_kib(libc::RUSAGE_CHILDREN);
    let _ = std::fs::remove_file(&path);

    println!("plan_1mib: {data_bytes} bytes, {mappings} mappings, {desired} desired entries");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  in-process read + map + plan, median of 20: {:.1} ms",
        ms(median(plan_times))
    );
    println!(
        "  in-process JSON rendering, median of 20: {:.1} ms",
        ms(median(render_times))
    );
    println!(
        "  in-process peak RSS (whole bench process): {:.1} MiB",
        self_peak as f64 / 1024.0
    );
    println!(
        "  end to end `migrate-auth plan -o json`, median of 15: {:.1} ms",
        ms(median(wall))
    );
    println!(
        "  end to end peak RSS of the binary: {:.1} MiB",
        child_peak as f64 / 1024.0
    );
}
