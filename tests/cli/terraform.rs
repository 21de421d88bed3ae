//! The exports run through Terraform itself, where this machine has it (the
//! `terraform` binary and the hashicorp/aws provider in a filesystem mirror,
//! `/opt/tf-plugins` unless `MIGRATE_AUTH_TF_MIRROR` says otherwise; nothing
//! is downloaded): every golden export validates against the provider's
//! schema, and an export applied by `terraform apply` to the emulated
//! cluster leaves it as `migrate-auth apply` would (the live plan then has
//! nothing to do). Where Terraform is missing, each test says so on stderr
//! and checks nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::apply::{api_world, kube, MAP_ROLES};
use crate::live::{start, Live, KEY};

/// The CLI configuration that installs the aws provider from the mirror,
/// or `None` (said on stderr) when Terraform or the mirror is missing.
fn terraform() -> Option<PathBuf> {
    let mirror =
        std::env::var("MIGRATE_AUTH_TF_MIRROR").unwrap_or_else(|_| "/opt/tf-plugins".into());
    let has_provider = Path::new(&mirror)
        .join("registry.terraform.io/hashicorp/aws")
        .is_dir();
    let runs = Command::new("terraform")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(has_provider && runs) {
        eprintln!("SKIPPED: no terraform binary, or no hashicorp/aws provider in {mirror}");
        return None;
    }
    let rc = Path::new(env!("CARGO_TARGET_TMPDIR")).join("terraform.rc");
    std::fs::write(
        &rc,
        format!("provider_installation {{\n  filesystem_mirror {{\n    path    = \"{mirror}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n"),
    )
    .unwrap();
    Some(rc)
}

/// Runs `terraform ARGS` in `dir`; its exit status and output (stdout then stderr).
fn tf(rc: &Path, dir: &Path, args: &[&str], env: &[(&str, String)]) -> (i32, String) {
    let out = Command::new("terraform")
        .args(args)
        .arg("-no-color")
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", rc)
        .env("TF_IN_AUTOMATION", "1")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .expect("terraform runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The aws provider, for the EKS emulator at `endpoint` (signed with the
/// emulator's test key; no account or credential look-ups).
fn provider(endpoint: &str) -> String {
    format!(
        "terraform {{\n  required_providers {{\n    aws = {{ source = \"hashicorp/aws\" }}\n  }}\n}}\n\nprovider \"aws\" {{\n  region                      = \"us-east-1\"\n  access_key                  = \"{KEY}\"\n  secret_key                  = \"secret\"\n  skip_credentials_validation = true\n  skip_requesting_account_id  = true\n  skip_metadata_api_check     = true\n  skip_region_validation      = true\n  endpoints {{\n    eks = \"{endpoint}\"\n  }}\n}}\n"
    )
}

/// A stand-in for the terraform-aws-modules/eks/aws module's access
/// entries, written here from what docs/DOMAIN.md section 2b says of it
/// (not its code): the `access_entries` variable, the entries keyed by
/// their key, the associations by `ENTRY_POLICY`.
const EKS_MODULE: &str = r#"variable "cluster_name" {
  type = string
}

variable "access_entries" {
  type    = any
  default = {}
}

locals {
  associations = merge([
    for key, entry in var.access_entries : {
      for policy, association in try(entry.policy_associations, {}) :
      "${key}_${policy}" => merge(association, { principal_arn = entry.principal_arn })
    }
  ]...)
}

resource "aws_eks_access_entry" "this" {
  for_each = var.access_entries

  cluster_name      = var.cluster_name
  principal_arn     = each.value.principal_arn
  type              = try(each.value.type, "STANDARD")
  user_name         = try(each.value.user_name, null)
  kubernetes_groups = try(each.value.kubernetes_groups, null)
}

resource "aws_eks_access_policy_association" "this" {
  for_each = local.associations

  cluster_name  = var.cluster_name
  principal_arn = each.value.principal_arn
  policy_arn    = each.value.policy_arn

  access_scope {
    type       = each.value.access_scope.type
    namespaces = try(each.value.access_scope.namespaces, null)
  }

  depends_on = [aws_eks_access_entry.this]
}
"#;

/// The root module that passes the export's map to [`EKS_MODULE`] in `./eks`.
const ROOT: &str = r#"module "eks" {
  source         = "./eks"
  cluster_name   = "prod"
  access_entries = local.migrate_auth_access_entries
}
"#;

/// What the live plan of `live`'s cluster still has to do: entries to add
/// and to change.
fn changes(live: &Live) -> u64 {
    let plan = live.run(&["plan", "--cluster", "prod", "-o", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let s = &plan["summary"];
    s["add"].as_u64().unwrap() + s["change"].as_u64().unwrap()
}

/// Writes `live`'s export as `format` into `dir` (with the stand-in module
/// for `terraform-module`), then `terraform init` and `apply`: the output.
fn apply(rc: &Path, live: &Live, dir: &Path, format: &str) -> String {
    let export = live.run(&[
        "export",
        "--format",
        format,
        "--cluster",
        "prod",
        "--allow-errors",
    ]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    std::fs::create_dir_all(dir.join("eks")).unwrap();
    std::fs::write(dir.join("access.tf"), &export.stdout).unwrap();
    std::fs::write(dir.join("provider.tf"), provider(&live.aws.endpoint())).unwrap();
    let module = format == "terraform-module";
    for (file, text) in [("module.tf", ROOT), ("eks/main.tf", EKS_MODULE)] {
        let path = dir.join(file);
        if module {
            std::fs::write(&path, text).unwrap();
        } else if path.exists() {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let (code, out) = tf(rc, dir, &["init", "-backend=false", "-input=false"], &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = tf(rc, dir, &["apply", "-auto-approve", "-input=false"], &[]);
    assert_eq!(code, 0, "{out}");
    // Terraform has nothing more to do.
    let (code, plan) = tf(
        rc,
        dir,
        &["plan", "-detailed-exitcode", "-input=false"],
        &[],
    );
    assert_eq!(code, 0, "{plan}");
    out
}

/// The export, applied by Terraform to the emulated cluster, migrates it:
/// the entries that exist (EKS's node role's, one to update) are imported,
/// not created again (no 409), and `migrate-auth plan` then has nothing to
/// do. In both Terraform formats.
#[test]
fn terraform_applies_the_export_and_the_cluster_is_migrated() {
    let Some(rc) = terraform() else { return };
    for format in ["terraform", "terraform-module"] {
        let live = start(api_world(), kube(MAP_ROLES));
        assert!(changes(&live) >= 3, "the migration has work to do");
        let out = apply(&rc, &live, &live.home.join(format), format);
        assert!(
            out.contains("Apply complete! Resources: 2 imported, 3 added, 1 changed, 0 destroyed."),
            "{format}: {out}"
        );
        assert_eq!(changes(&live), 0, "{format}");
    }
}

/// A team that applied the plain export moves to the module with the
/// module export's `moved` blocks: nothing is destroyed or created.
#[test]
fn terraform_moves_the_plain_exports_resources_into_the_module() {
    let Some(rc) = terraform() else { return };
    let live = start(api_world(), kube(MAP_ROLES));
    let dir = live.home.join("moving");
    apply(&rc, &live, &dir, "terraform");
    let entries = live.aws.world().clusters["prod"].access_entries.clone();
    let out = apply(&rc, &live, &dir, "terraform-module");
    eprintln!("{out}");
    assert!(
        out.contains("has moved to module.eks.aws_eks_access_entry.this[\"platform_admin\"]")
            || out.contains("moved"),
        "{out}"
    );
    assert!(
        out.contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    assert_eq!(live.aws.world().clusters["prod"].access_entries, entries);
    assert_eq!(changes(&live), 0);
}

/// Every golden case's Terraform, and its module export with the stand-in
/// module, is valid for Terraform and the aws provider's own schema
/// (`terraform validate`: the attributes, blocks and types of both
/// resources, the moved blocks' addresses). One configuration holds every
/// case as a child module (the provider's schema loads once); a child module
/// may not hold import blocks, so they are left out here (the tests above
/// apply them).
#[test]
fn every_golden_terraform_export_validates_against_the_providers_schema() {
    let Some(rc) = terraform() else { return };
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tf-validate");
    let _ = std::fs::remove_dir_all(&work);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(crate::testdata().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|c| c.join("expected.tf").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 35);
    for golden in ["expected.tf", "expected.module.tf"] {
        let dir = work.join(golden);
        let mut root = provider("http://127.0.0.1:9");
        for (i, case) in cases.iter().enumerate() {
            let child = dir.join(format!("cases/{i:02}"));
            std::fs::create_dir_all(&child).unwrap();
            let text = std::fs::read_to_string(case.join(golden)).unwrap();
            let blocks: Vec<&str> = text
                .split("\n\n")
                .filter(|b| !b.starts_with("import {"))
                .collect();
            std::fs::write(child.join("access.tf"), blocks.join("\n\n")).unwrap();
            if golden == "expected.module.tf" {
                std::fs::write(child.join("module.tf"), ROOT.replace("./eks", "../../eks"))
                    .unwrap();
            }
            root.push_str(&format!(
                "\nmodule \"case_{i:02}\" {{\n  source = \"./cases/{i:02}\"\n}}\n"
            ));
        }
        std::fs::create_dir_all(dir.join("eks")).unwrap();
        std::fs::write(dir.join("eks/main.tf"), EKS_MODULE).unwrap();
        std::fs::write(dir.join("main.tf"), root).unwrap();
        let (code, out) = tf(&rc, &dir, &["init", "-backend=false", "-input=false"], &[]);
        assert_eq!(code, 0, "{out}");
        let (code, out) = tf(&rc, &dir, &["validate"], &[]);
        assert_eq!(code, 0, "{golden}: {out}");
    }
}
