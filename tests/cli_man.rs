//! The man pages (issue 13): every page a0backup(1) names can be produced, one by one or all
//! into a directory, and the examples copy as printed (no command, and no md5, broken across
//! lines or hyphenated).
#![cfg(feature = "cli")]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn a0backup(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

/// The subcommand pages a roff page names, as `a0backup\-NAME(1)`.
fn named_pages(roff: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in roff.match_indices("a0backup\\-") {
        let rest = &roff[i + "a0backup\\-".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if rest[name.len()..].starts_with("(1)") {
            names.insert(name);
        }
    }
    names
}

/// Undoes the roff escapes the pages use in example lines.
fn unroff(line: &str) -> String {
    line.replace("\\-", "-")
        .replace("\\e", "\\")
        .replace("\\&", "")
}

/// The example commands of a roff page: the lines of its no-fill blocks under EXAMPLES.
fn example_lines(roff: &str) -> Vec<String> {
    let Some(start) = roff.find(".SH EXAMPLES") else {
        return Vec::new();
    };
    let section = &roff[start..];
    let section = &section[..section[4..].find(".SH ").map_or(section.len(), |e| e + 4)];
    assert!(
        section.starts_with(".SH EXAMPLES\n.nh\n"),
        "hyphenation is off in EXAMPLES"
    );
    let mut out = Vec::new();
    let mut in_block = false;
    for line in section.lines() {
        match line {
            ".nf" => in_block = true,
            ".fi" => in_block = false,
            l if in_block => out.push(unroff(l)),
            _ => {}
        }
    }
    out
}

#[test]
fn every_page_the_man_page_names_can_be_produced() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let top = a0backup(&["man"], d);
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains(".TH a0backup 1"), "{top}");
    let named = named_pages(&top);
    for expected in [
        "decrypt", "encrypt", "md5", "verify", "restore", "pack", "unpack", "list",
    ] {
        assert!(named.contains(expected), "{expected} in {named:?}");
    }
    assert!(
        !named.contains("help"),
        "clap's help has no page: {named:?}"
    );

    for name in &named {
        let page = a0backup(&["man", name], d);
        assert!(page.status.success(), "{name}: {page:?}");
        let page = String::from_utf8(page.stdout).unwrap();
        assert!(page.contains(&format!(".TH a0backup-{name} 1")), "{page}");
        assert!(page.contains(".SH \"SEE ALSO\"\na0backup(1)"), "{page}");
        assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    }

    let o = a0backup(&["man", "--dir", "pages"], d);
    assert!(o.status.success(), "{o:?}");
    let files: BTreeSet<String> = std::fs::read_dir(d.join("pages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut expected: BTreeSet<String> = named.iter().map(|n| format!("a0backup-{n}.1")).collect();
    expected.insert("a0backup.1".into());
    assert_eq!(files, expected);
    assert_eq!(
        std::fs::read_to_string(d.join("pages/a0backup-restore.1")).unwrap(),
        String::from_utf8(a0backup(&["man", "restore"], d).stdout).unwrap()
    );

    let o = a0backup(&["man", "nosuch"], d);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the subcommands are decrypt"));
}

#[test]
fn examples_copy_as_printed() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    assert!(a0backup(&["man", "--dir", "pages"], d).status.success());
    let md5 = "eccdb928a3bab23f725f955b68ef66ff";
    let mut seen_md5 = false;
    let render = common::have("groff");
    for entry in std::fs::read_dir(d.join("pages")).unwrap() {
        let path = entry.unwrap().path();
        let roff = std::fs::read_to_string(&path).unwrap();
        let examples = example_lines(&roff);
        assert!(!examples.is_empty(), "{} has examples", path.display());
        for e in &examples {
            assert!(
                e.starts_with("a0backup ") || e.starts_with("a0cli "),
                "an example is one whole command line: {e:?}"
            );
            seen_md5 |= e.contains(md5);
        }
        if !render {
            continue;
        }
        // Rendered narrow, as a terminal shows it: each example is still one line of plain
        // ASCII, exactly as written.
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-P-cbou", "-rLL=50n"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let shown = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = shown.lines().map(str::trim).collect();
        // No word is hyphenated at a line's end (`backup-sta-` / `tus`): a line may end in a
        // hyphen only where the text has one (groff shows it as U+2010).
        let text = unroff(&roff);
        for pair in lines.windows(2) {
            let Some(stem) = pair[0].strip_suffix('\u{2010}') else {
                continue;
            };
            let last = stem.rsplit(' ').next().unwrap().replace('\u{2010}', "-");
            let next = pair[1].split(' ').next().unwrap().replace('\u{2010}', "-");
            assert!(
                text.contains(&format!("{last}-{next}")),
                "{}: hyphenated at a line's end: {:?} / {:?}",
                path.display(),
                pair[0],
                pair[1]
            );
        }
        for e in &examples {
            assert!(
                lines.contains(&e.as_str()),
                "{}: {e:?} is not one line of\n{shown}",
                path.display()
            );
        }
    }
    assert!(seen_md5, "an example carries an md5");
}

/// The SYNOPSIS of a roff page as man shows it, fonts and escapes removed.
fn synopsis(roff: &str) -> String {
    let start = roff.find(".SH SYNOPSIS\n").expect("a synopsis");
    let section = &roff[start + ".SH SYNOPSIS\n".len()..];
    let section = &section[..section.find(".SH ").unwrap()];
    let text: Vec<&str> = section.lines().filter(|l| !l.starts_with('.')).collect();
    unroff(&text.join(" "))
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\ ", " ")
}

#[test]
fn the_synopsis_shows_each_options_value() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let page = |name: &str| String::from_utf8(a0backup(&["man", name], d).stdout).unwrap();
    assert_eq!(
        synopsis(&page("restore")),
        "a0backup restore [-q|--quiet] [--json] [--password-file FILE | --password-env VAR | \
         --password P] [--md5 HEX | --status FILE] [--format FORMAT] [--iter N] \
         [--latin1-password] [--allow-symlinks] [--allow-hardlinks] [--max-size BYTES] \
         [--max-entries N] [--max-path-len BYTES] [-p|--preserve-permissions] \
         [--include GLOB]... [--exclude GLOB]... [--collection DB.COLL]... [--threads[=N]] \
         [-f|--force] [--no-sync] [-h|--help] INPUT -C|--directory DEST"
    );
    assert_eq!(
        synopsis(&page("verify")),
        "a0backup verify [-q|--quiet] [--json] [--md5 HEX | --status FILE] [-h|--help] FILE"
    );
    assert_eq!(
        synopsis(&page("md5")),
        "a0backup md5 [-q|--quiet] [--json] [-h|--help] FILE..."
    );
    assert_eq!(
        synopsis(&page("man")),
        "a0backup man [-q|--quiet] [--json] [--dir DIR] [-h|--help] [SUBCOMMAND]"
    );
    let top = String::from_utf8(a0backup(&["man"], d).stdout).unwrap();
    assert_eq!(
        synopsis(&top),
        "a0backup [-q|--quiet] [--json] [-h|--help] [-V|--version] COMMAND"
    );
    // An option and its value are joined by an unbreakable space: no line ends between them.
    assert!(
        page("restore").contains("\\fB\\-\\-md5\\fR\\ \\fIHEX\\fR"),
        "{}",
        page("restore")
    );
}

#[test]
fn piped_the_page_is_roff() {
    let work = tempfile::tempdir().unwrap();
    let o = a0backup(&["man", "restore"], work.path());
    assert!(o.status.success(), "{o:?}");
    assert!(o.stderr.is_empty(), "{o:?}");
    let roff = String::from_utf8(o.stdout).unwrap();
    let head: Vec<&str> = roff.lines().take(5).collect();
    let title = format!(
        ".TH a0backup-restore 1  \"a0backup {}\" \"a0backup manual\"",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        head,
        [
            ".ie \\n(.g .ds Aq \\(aq",
            ".el .ds Aq '",
            &title,
            ".nr HY 0",
            ".nh",
        ]
    );
    assert!(roff.contains("\n.SH SYNOPSIS\n.ad l\n\\fBa0backup restore\\fR [\\fB\\-q\\fR|"));
}
