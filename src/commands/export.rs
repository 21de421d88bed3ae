//! `migrate-auth export`: makes the plan (offline from files, or live) and
//! writes the access entries it wants as code, to stdout or `--out`.

use std::io::Write;

use anyhow::{bail, Context as _, Result};

use super::Outcome;
use crate::cli::{ExportFormat, ExportSettings};
use crate::render::export;

/// Runs `export`.
///
/// # Errors
/// The plan's errors, an `error` finding (unless `--allow-errors`), or the
/// file cannot be written.
pub fn run(s: &ExportSettings) -> Result<Outcome> {
    let plan = super::plan::plan_of(&s.source, &s.plan)?;
    let errors = export::errors(&plan);
    if !errors.is_empty() && !s.allow_errors {
        let n = match errors.len() {
            1 => "an error finding stands".to_string(),
            n => format!("{n} error findings stand"),
        };
        bail!("{n} (`migrate-auth plan` shows it): settle it with --overrides, or give --allow-errors to export without the principals it is about");
    }
    let export = export::of(&plan, s.cluster_name.as_deref());
    let code = match s.format {
        ExportFormat::Terraform => export::terraform::render(&export),
        ExportFormat::TerraformModule => {
            export::terraform_module::render(&export, &s.module_address)
        }
        ExportFormat::Eksctl => export::eksctl::render(&export),
        ExportFormat::Cloudformation => export::cloudformation::render(&export)?,
    };
    match &s.out {
        Some(path) => {
            crate::private::write(path, code.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            let _ = writeln!(std::io::stderr(), "Wrote {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(code.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Outcome::Done { changes: false })
}
