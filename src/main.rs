//! The binary: parse the command line, run the command, turn the result into an
//! exit status. 0: success (no changes with --detailed-exitcode); 1: an error
//! before anything changed, or findings at or above --fail-on; 2: changes,
//! with --detailed-exitcode; 3: apply or rollback failed after changing the
//! cluster and undid every change; 4: it failed and something is left in
//! place (the report says what).

use std::process::ExitCode;

use migrate_auth::cli::{self, Command, Parsed};
use migrate_auth::commands::{self, Outcome};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os()) {
        Parsed::Run(c) => *c,
        Parsed::Print(text) => {
            // A closed pipe (`completions bash | head`) is not an error.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Parsed::Usage(text) => {
            eprint!("{text}");
            return ExitCode::from(1);
        }
    };
    let (result, detailed) = match &command {
        Command::Plan(s) => (commands::plan::run(s), s.output.detailed_exitcode),
        Command::Snapshot(s) => (commands::snapshot::run(s), false),
        Command::Apply(s) => (commands::apply::run(s), false),
        Command::Rollback(s) => (commands::rollback::run(s), false),
        Command::Fleet(s) => (commands::fleet::run(s), false),
        Command::Export(s) => (commands::export::run(s), false),
    };
    let code = commands::exit_code(&result, detailed);
    match result {
        Ok(Outcome::FailedOnFindings) => {
            eprintln!("error: the plan has findings at or above --fail-on");
        }
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("error: {}", migrate_auth::safe_for_terminal(&text));
        }
        Ok(Outcome::Done { .. }) => {}
    }
    ExitCode::from(code)
}
