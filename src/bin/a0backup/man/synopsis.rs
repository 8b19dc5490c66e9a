//! The SYNOPSIS of a page, with every option's value (`--md5 HEX`, `-C|--directory DEST`):
//! clap_mangen's shows the options' names alone.
//!
//! The options come in the help's order, globals first; the options of a group that takes
//! one of them (the password options, `--md5` and `--status`) as alternatives in one bracket
//! (`[--md5 HEX | --status FILE]`); a repeatable one with `...`; then the positionals and the
//! required options. An option and its value are joined by an unbreakable space, so a line
//! never ends between them.

use clap::{Arg, ArgAction, ArgGroup, Command};

use super::roff_text;

/// The SYNOPSIS section of `cmd` (a built command), in roff.
pub fn section(cmd: &Command) -> String {
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut items = vec![format!("\\fB{}\\fR", roff_text(name))];
    let shown = |a: &&Arg| !a.is_hide_set() && !a.is_positional();
    let globals = cmd
        .get_arguments()
        .filter(shown)
        .filter(|a| a.is_global_set());
    // The command's order is the help's (clap's `mut_arg` moves an argument to the end of
    // the list, not of the help).
    let mut own: Vec<&Arg> = cmd
        .get_arguments()
        .filter(shown)
        .filter(|a| !a.is_global_set())
        .collect();
    own.sort_by_key(|a| a.get_display_order());
    let options: Vec<&Arg> = globals.chain(own).collect();
    let mut done: Vec<&str> = Vec::new();
    for arg in options.iter().filter(|a| !a.is_required_set()) {
        if done.contains(&arg.get_id().as_str()) {
            continue;
        }
        let alternatives = one_of(cmd, arg);
        if alternatives.len() > 1 {
            let parts: Vec<String> = alternatives.iter().map(|a| option(a)).collect();
            items.push(format!("[{}]", parts.join(" | ")));
            done.extend(alternatives.iter().map(|a| a.get_id().as_str()));
        } else {
            items.push(format!("[{}]{}", option(arg), repeated(arg)));
        }
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let value = format!("\\fI{}\\fR", roff_text(&value_names(arg)));
        let many = if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            "..."
        } else {
            ""
        };
        items.push(if arg.is_required_set() {
            format!("{value}{many}")
        } else {
            format!("[{value}]{many}")
        });
    }
    for arg in options.iter().filter(|a| a.is_required_set()) {
        items.push(format!("{}{}", option(arg), repeated(arg)));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        items.push("\\fICOMMAND\\fR".to_string());
    }
    // Left-adjusted: a justified synopsis spreads its options across the line.
    format!(".SH SYNOPSIS\n.ad l\n{}\n.ad\n", items.join(" "))
}

/// The visible options of the group that takes at most one of them and holds `arg` (itself
/// alone when there is none), in the command's order.
fn one_of<'c>(cmd: &'c Command, arg: &Arg) -> Vec<&'c Arg> {
    let group = cmd.get_groups().find(|g| {
        !ArgGroup::is_multiple(&mut (*g).clone()) && g.get_args().any(|id| id == arg.get_id())
    });
    match group {
        Some(g) => cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set() && g.get_args().any(|id| id == a.get_id()))
            .collect(),
        None => cmd
            .get_arguments()
            .filter(|a| a.get_id() == arg.get_id())
            .collect(),
    }
}

/// `-f|--force`, `--md5 HEX`, `-C|--directory DEST`, `--threads[=N]`.
fn option(arg: &Arg) -> String {
    let names: Vec<String> = [
        arg.get_short().map(|s| format!("-{s}")),
        arg.get_long().map(|l| format!("--{l}")),
    ]
    .into_iter()
    .flatten()
    .map(|n| format!("\\fB{}\\fR", roff_text(&n)))
    .collect();
    let mut s = names.join("|");
    let takes = arg.get_num_args().filter(|n| n.takes_values());
    if let Some(n) = takes {
        let value = format!("\\fI{}\\fR", roff_text(&value_names(arg)));
        s.push_str(&match (n.min_values(), arg.is_require_equals_set()) {
            (0, true) => format!("[={value}]"),
            (0, false) => format!("\\ [{value}]"),
            (_, true) => format!("={value}"),
            (_, false) => format!("\\ {value}"),
        });
    }
    s
}

/// `...` after an option given more than once (`[--include GLOB]...`, `-vv`).
fn repeated(arg: &Arg) -> &'static str {
    match arg.get_action() {
        ArgAction::Append | ArgAction::Count => "...",
        _ => "",
    }
}

/// The value's name (`HEX`, `DEST`), or the argument's id in capitals without one.
fn value_names(arg: &Arg) -> String {
    match arg.get_value_names() {
        Some(names) => names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        None => arg.get_id().as_str().to_uppercase(),
    }
}
