//! `migrate-auth export`: makes the plan (offline from files, or live), or
//! reads a saved one, and writes the access entries it wants as code, to
//! stdout or `--out`.

use std::io::Write;

use anyhow::{bail, Context as _, Result};

use super::Outcome;
use crate::cli::{ExportFormat, ExportFrom, ExportSettings};
use crate::migrate::plan_file::PlanFile;
use crate::migrate::wants::Wants;
use crate::pipeline::read_file;
use crate::render::export;

/// Runs `export`.
///
/// # Errors
/// The plan's errors, an `error` finding (unless `--allow-errors`), or the
/// file cannot be written.
pub fn run(s: &ExportSettings) -> Result<Outcome> {
    let (export, errors) = match &s.from {
        ExportFrom::Plan(source, options) => {
            let plan = super::plan::plan_of(source, options)?;
            let wants = Wants::of(&plan);
            let errors = export::errors(&wants);
            (export::of(&plan, &wants, s.cluster_name.as_deref()), errors)
        }
        ExportFrom::Saved(path) => {
            let name = path.display().to_string();
            let bytes = match path.as_os_str() == "-" {
                true => super::read_input(&crate::cli::Input::Stdin)?,
                false => read_file(path)?,
            };
            let file = PlanFile::from_bytes(&name, &bytes)?;
            file.check_wants(&name)?;
            let errors = export::errors(&file.wants);
            (export::of_saved(&file, s.cluster_name.as_deref()), errors)
        }
    };
    if !errors.is_empty() && !s.allow_errors {
        let n = match errors.len() {
            1 => "an error finding stands".to_string(),
            n => format!("{n} error findings stand"),
        };
        bail!("{n} (`migrate-auth plan` shows it): settle it with --overrides, or give --allow-errors to export without the principals it is about");
    }
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
