//! `a0backup man`: the man pages, a0backup(1) and one per subcommand (a0backup-restore(1)...),
//! on standard output or all into a directory. On a terminal the page is shown formatted
//! (`man -l -`, or as plain text without `man`); piped or redirected, it is roff.
//!
//! clap_mangen renders the title, description, options and the list of subcommands; the
//! synopsis (with the options' values) is written in `synopsis`, the examples and exit codes
//! here, in no-fill mode with hyphenation off, so a command (an md5 in it) is never broken
//! across lines and copies as printed.

mod synopsis;
mod text;

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;

use crate::failure::{io_failure, usage, Failure};

#[derive(Args, Debug)]
pub struct ManArgs {
    /// The subcommand whose page to print (a0backup-SUBCOMMAND(1)); without it, a0backup(1).
    #[arg(value_name = "SUBCOMMAND")]
    subcommand: Option<String>,
    /// Write every page (a0backup.1 and a0backup-SUBCOMMAND.1) into DIR, created if missing,
    /// instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    dir: Option<PathBuf>,
}

/// Each page's examples: what it does, then the command as typed.
fn examples(page: &str) -> &'static [(&'static str, &'static str)] {
    match page {
        "a0backup" => &[
            (
                "Restore a retrieved backup in one pass, checking its md5 against what \
                 a0cli backup-status reports (nothing appears in DEST unless everything \
                 checks out):",
                "a0cli -t 192.168.1.186 backup-status | a0backup restore --password-file pw.txt --status - backup-retrieve.tar.gz.enc -C restored",
            ),
            (
                "The appliance's node decrypt step, with the md5 checked first:",
                "a0backup decrypt --password-env A0_PW --md5 eccdb928a3bab23f725f955b68ef66ff backup.tar.gz.enc",
            ),
            (
                "Pack and encrypt a mongodump tree as the appliance does, printing its \
                 status record:",
                "a0backup pack --password-file pw.txt dump -o backup.tar.gz.enc",
            ),
        ],
        "decrypt" => &[
            (
                "Decrypt into backup-retrieve.tar.gz, checking the md5 from a saved \
                 backup-status record first:",
                "a0backup decrypt --password-file pw.txt --status status.txt backup-retrieve.tar.gz.enc",
            ),
            (
                "Decrypt to standard output (the md5 is checked before the first byte is \
                 written):",
                "a0backup decrypt --password-env A0_PW --md5 eccdb928a3bab23f725f955b68ef66ff backup.tar.gz.enc -o - | tar tzf -",
            ),
        ],
        "encrypt" => &[
            (
                "Encrypt as the appliance does:",
                "a0backup encrypt --password-file pw.txt backup.tar.gz -o backup.tar.gz.enc",
            ),
            (
                "Encrypt in the salted PBKDF2 format, which openssl enc -d -aes-256-ctr \
                 -pbkdf2 -md sha256 also reads:",
                "a0backup encrypt --password-file pw.txt --format openssl-pbkdf2 backup.tar.gz -o backup.tar.gz.enc",
            ),
        ],
        "md5" => &[(
            "Print the md5 as md5sum does:",
            "a0backup md5 backup-retrieve.tar.gz.enc",
        )],
        "verify" => &[
            (
                "Check a retrieved backup against a saved backup-status record:",
                "a0backup verify --status status.txt backup-retrieve.tar.gz.enc",
            ),
            (
                "Or against the record as a0cli prints it:",
                "a0cli -t 192.168.1.186 backup-status | a0backup verify --status - backup-retrieve.tar.gz.enc",
            ),
        ],
        "restore" => &[
            (
                "Restore, checking the md5 from a saved backup-status record:",
                "a0backup restore --password-file pw.txt --status status.txt backup-retrieve.tar.gz.enc -C restored",
            ),
            (
                "Replace an earlier restore (only once the new tree is complete):",
                "a0backup restore --password-file pw.txt --md5 eccdb928a3bab23f725f955b68ef66ff --force backup-retrieve.tar.gz.enc -C restored",
            ),
        ],
        "pack" => &[
            (
                "Pack and encrypt, saving the status record that verify and restore take:",
                "a0backup pack --password-file pw.txt dump -o backup.tar.gz.enc > status.json",
            ),
            (
                "Pack without encrypting:",
                "a0backup pack dump -o backup.tar.gz",
            ),
        ],
        "unpack" => &[(
            "Unpack a plain .tar.gz under the safety policy of restore:",
            "a0backup unpack backup.tar.gz -C restored",
        )],
        "list" => &[
            (
                "List an encrypted backup as tar tvf does (asked for the password at a \
                 terminal):",
                "a0backup list backup-retrieve.tar.gz.enc",
            ),
            (
                "One JSON object per entry:",
                "a0backup --json list --password-file pw.txt backup-retrieve.tar.gz.enc",
            ),
        ],
        "check" => &[
            (
                "Will last night's backup restore? Nothing is written; exit 0 means yes, with \
                 every collection clean:",
                "a0backup check --password-file pw.txt --status status.txt backup-retrieve.tar.gz.enc",
            ),
            (
                "The collection table as JSON, for a monitoring script:",
                "a0backup --json check --password-env A0_PW backup-retrieve.tar.gz.enc",
            ),
        ],
        "dump" => &[
            (
                "Get back one user deleted by mistake, as the JSON mongoimport and mongosh \
                 take (reading stops once auth0.users is behind; exit 6 at a damaged \
                 document, as check):",
                "a0backup dump --password-file pw.txt backup.tar.gz.enc auth0.users --filter '{\"email\": \"ann@example.com\"}'",
            ),
            (
                "Every client, relaxed and indented, after checking the md5 (first, for a \
                 file: nothing is printed from a file that is not the expected one):",
                "a0backup dump --password-file pw.txt --md5 eccdb928a3bab23f725f955b68ef66ff backup.tar.gz.enc auth0.clients --relaxed --pretty",
            ),
            (
                "The collection's indexes and options:",
                "a0backup dump --password-file pw.txt backup.tar.gz.enc auth0.users --metadata",
            ),
        ],
        "find" => &[
            (
                "When did this user disappear? One line per nightly backup with the count of \
                 matching documents (- when the collection is missing):",
                "a0backup find --password-file pw.txt --collection auth0.users --filter '{\"email\": \"ann@example.com\"}' nightly/*.tar.gz.enc",
            ),
            (
                "The documents themselves, tagged with their backup (one JSON object per line):",
                "a0backup find --password-file pw.txt --collection auth0.clients --filter '{\"name\": \"billing\"}' --docs mon.tar.gz.enc tue.tar.gz.enc",
            ),
        ],
        "diff" => &[
            (
                "What changed between two nights, per collection (documents by _id, indexes, \
                 options, collections added or dropped):",
                "a0backup diff --password-file pw.txt mon.tar.gz.enc tue.tar.gz.enc",
            ),
            (
                "The _id of every client added, removed or changed, as JSON lines:",
                "a0backup --json diff --password-file pw.txt --collection auth0.clients --ids mon.tar.gz.enc tue.tar.gz.enc",
            ),
        ],
        "completions" => &[(
            "Install the bash completions for the current user:",
            "a0backup completions bash > ~/.local/share/bash-completion/completions/a0backup",
        )],
        "man" => &[
            (
                "Read the page of one subcommand (formatted on a terminal, roff when piped):",
                "a0backup man restore",
            ),
            (
                "Its roff, for another viewer:",
                "a0backup man restore > a0backup-restore.1",
            ),
            (
                "Install every page for the current user:",
                "a0backup man --dir ~/.local/share/man/man1",
            ),
        ],
        _ => &[],
    }
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    (
        "1",
        "an error (I/O, damaged input, output exists without --force, ...)",
    ),
    (
        "2",
        "usage: a bad option or argument (a --filter outside the subset), a missing \
         password without a terminal; dump: the backup holds no such collection",
    ),
    (
        "3",
        "probably wrong password (the decrypted data does not begin like gzip)",
    ),
    (
        "4",
        "md5 mismatch: nothing was published (an incomplete download? download the backup \
         again)",
    ),
    (
        "5",
        "unsafe archive: an entry refused by the safety policy, or a --max-size, \
         --max-entries or --max-path-len limit",
    ),
    (
        "6",
        "check: the backup would restore, but collection data is damaged or incomplete; \
         dump, find, diff: a damaged document (or metadata) of a collection read",
    ),
    (
        "130, 143, 129",
        "stopped by SIGINT, SIGTERM or SIGHUP (cleaned up, nothing published)",
    ),
    (
        "141",
        "the reader of standard output went away (as with | head), as a process killed by \
         SIGPIPE; nothing more is printed",
    ),
];

/// `text` for roff: backslashes and hyphens escaped (so `-` stays an ASCII hyphen-minus that
/// copies), and a leading `.` or `'` kept from being read as a request.
pub(crate) fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The EXAMPLES, EXIT STATUS and SEE ALSO sections of `page`.
fn own_sections(page: &str) -> String {
    let mut r = String::new();
    let examples = examples(page);
    if !examples.is_empty() {
        r.push_str(".SH EXAMPLES\n.nh\n");
        for (what, command) in examples {
            r.push_str(&format!(
                ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
                roff_text(what),
                roff_text(command)
            ));
        }
    }
    r.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_STATUS {
        r.push_str(&format!(
            ".TP\n{}\n{}\n",
            roff_text(code),
            roff_text(meaning)
        ));
    }
    if page != "a0backup" {
        r.push_str(".SH \"SEE ALSO\"\na0backup(1)\n");
    }
    r
}

/// The command as the pages describe it: built (so subcommands carry their full names, as
/// `a0backup-restore`) and without clap's `help` subcommand, which has no page.
fn command() -> clap::Command {
    let mut cmd = crate::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// One page in roff: `cmd` is the built top command or one of its subcommands.
fn render(cmd: &clap::Command, page: &str, w: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("a0backup {}", env!("CARGO_PKG_VERSION")))
        .manual("a0backup manual");
    man.render_title(w)?;
    // No hyphenation anywhere (HY 0: the man macros turn it back on at every paragraph):
    // option names and commands in the text are copied from pages.
    w.write_all(b".nr HY 0\n.nh\n")?;
    man.render_name_section(w)?;
    w.write_all(synopsis::section(cmd).as_bytes())?;
    // clap_mangen prints an empty long about (as derive leaves it) instead of the about.
    let about = [cmd.get_long_about(), cmd.get_about()]
        .into_iter()
        .flatten()
        .map(|t| t.to_string())
        .find(|t| !t.trim().is_empty())
        .unwrap_or_default();
    let paragraphs: Vec<String> = about.split("\n\n").map(|p| roff_text(p.trim())).collect();
    write!(w, ".SH DESCRIPTION\n{}\n", paragraphs.join("\n.PP\n"))?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    w.write_all(own_sections(page).as_bytes())?;
    if cmd.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// The subcommands that have a page, by name.
fn pages(top: &clap::Command) -> Vec<&clap::Command> {
    top.get_subcommands().filter(|s| !s.is_hide_set()).collect()
}

pub fn man(a: ManArgs, quiet: bool) -> Result<(), Failure> {
    let top = command();
    if let Some(dir) = &a.dir {
        fs::create_dir_all(dir).map_err(|e| io_failure(dir, e))?;
        let mut written = 0;
        let mut write_page = |cmd: &clap::Command, page: &str, file: String| {
            let path = dir.join(file);
            let mut out = Vec::new();
            render(cmd, page, &mut out).map_err(|e| io_failure(Path::new("-"), e))?;
            fs::write(&path, out).map_err(|e| io_failure(&path, e))?;
            written += 1;
            Ok::<(), Failure>(())
        };
        write_page(&top, "a0backup", "a0backup.1".to_string())?;
        for sub in pages(&top) {
            write_page(
                sub,
                sub.get_name(),
                format!("a0backup-{}.1", sub.get_name()),
            )?;
        }
        if !quiet {
            eprintln!("wrote {written} man pages into {}", dir.display());
        }
        return Ok(());
    }
    let mut page = Vec::new();
    match &a.subcommand {
        None => render(&top, "a0backup", &mut page),
        Some(name) => {
            let sub = pages(&top)
                .into_iter()
                .find(|s| s.get_name() == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = pages(&top).iter().map(|s| s.get_name()).collect();
                    usage(format!(
                        "no man page for {name:?}: the subcommands are {}",
                        names.join(", ")
                    ))
                })?;
            render(sub, name, &mut page)
        }
    }
    .map_err(|e| io_failure(Path::new("-"), e))?;
    let page = String::from_utf8(page).expect("the pages are written from UTF-8 text");
    if io::stdout().is_terminal() {
        return show(&page);
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    out.write_all(page.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| io_failure(Path::new("-"), e))
}

/// A page on the terminal, formatted: by `man -l -` (its pager and the terminal's width, as
/// `man` shows any page), or as plain text where there is no `man` to run.
fn show(page: &str) -> Result<(), Failure> {
    let man = Command::new("man")
        .args(["-l", "-"])
        .stdin(Stdio::piped())
        .spawn();
    if let Ok(mut child) = man {
        let fed = child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(page.as_bytes()));
        let status = child.wait().map_err(|e| io_failure(Path::new("man"), e))?;
        if status.success() && !matches!(fed, Some(Err(_))) {
            return Ok(());
        }
        // A man that cannot read a page from standard input (no `-l`): plain text instead.
        eprintln!("a0backup: `man -l -` failed ({status}): the page as plain text follows");
    }
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(80);
    crate::io::print_line(format_args!("{}", text::render(page, width).trim_end()))
}
