//! Asking the person at the terminal (dialoguer). Never waits for input that
//! cannot come: without a terminal, and without `--yes`, it refuses at once.

use std::io::IsTerminal;

use anyhow::{bail, Context as _, Result};
use dialoguer::{Confirm, Input};

use crate::model::untrusted::terminal;

/// True when there is someone to ask (stdin and stderr are terminals).
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` (default: no) unless `yes`.
///
/// # Errors
/// No terminal and no `--yes`, the answer is no, or the terminal fails.
pub(crate) fn ask(question: &str, yes: bool, flag_hint: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !interactive() {
        bail!("nothing was changed: there is no terminal to confirm on; pass {flag_hint} to go ahead without asking");
    }
    let ok = Confirm::new()
        .with_prompt(terminal(question))
        .default(false)
        .interact()
        .context("reading the answer")?;
    if !ok {
        bail!("nothing was changed: not confirmed");
    }
    Ok(())
}

/// Asks for the cluster's name to be typed before something a human must
/// own (`why`); never answered by `--yes`.
///
/// # Errors
/// No terminal, or the typed name does not match.
pub(crate) fn type_name(cluster: &str, why: &str) -> Result<()> {
    if !interactive() {
        bail!("nothing was changed: {why}, and there is no terminal to type the cluster's name on");
    }
    typed(
        cluster,
        &format!(
            "{why}. Type the cluster name ({}) to go ahead",
            terminal(cluster)
        ),
    )
}

/// Reads a name at `prompt`; an error unless it is `cluster`.
fn typed(cluster: &str, prompt: &str) -> Result<()> {
    let typed: String = Input::new()
        .with_prompt(prompt)
        .allow_empty(true)
        .interact_text()
        .context("reading the answer")?;
    if typed.trim() != cluster {
        bail!(
            "nothing was changed: the name typed is not {}",
            terminal(cluster)
        );
    }
    Ok(())
}

/// Confirms an irreversible step: the cluster's name typed in full, or
/// `--yes` with `--confirm-irreversible`.
///
/// # Errors
/// As [`ask`], or the typed name does not match.
pub(crate) fn ask_irreversible(
    cluster: &str,
    what: &str,
    yes: bool,
    confirmed: bool,
) -> Result<()> {
    if yes {
        if confirmed {
            return Ok(());
        }
        bail!("nothing was changed: {what} cannot be undone; with --yes it also needs --confirm-irreversible (or run without --yes and type the cluster name)");
    }
    if !interactive() {
        bail!("nothing was changed: {what} cannot be undone and there is no terminal to confirm on; pass --yes --confirm-irreversible");
    }
    typed(
        cluster,
        &format!(
            "{what} cannot be undone. Type the cluster name ({}) to confirm",
            terminal(cluster)
        ),
    )
}
