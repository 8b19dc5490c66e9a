//! The README's command blocks run as written (issue 13): every ```sh block that uses the
//! command is marked `<!-- README-CLI-TEST ... -->` and runs here, unchanged, in `sh -eu`.
//!
//! Each block runs twice in a row in a fresh directory holding `tests` (a link to this
//! repository's), with the built `a0backup` first on PATH and HOME in the scratch directory: a
//! block must work again where it already ran. Two programs are
//! stood in for, by shell functions that accept only what the README writes: `cargo` (`run
//! --release --features cli -- ARGS` runs the built binary with ARGS; `install --locked --path
//! . --features cli` checks that an `a0backup` is on PATH, since a test cannot install), and
//! the appliance's `a0cli` (`backup-status` prints the sample's record).
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::Command;

const MARKER: &str = "<!-- README-CLI-TEST";

const STAND_INS: &str = r#"
cargo() {
    case "$*" in
        "run --release --features cli -- "*) shift 5; a0backup "$@" ;;
        "install --locked --path . --features cli") command -v a0backup >/dev/null ;;
        *) echo "cargo $*: not stood in for by tests/cli_readme.rs" >&2; return 1 ;;
    esac
}
a0cli() {
    case "$*" in
        "-t "*" backup-status") cat tests/data/sample-backup/backup-status.txt ;;
        *) echo "a0cli $*: not stood in for by tests/cli_readme.rs" >&2; return 1 ;;
    esac
}
"#;

/// The README's ```sh blocks, each with whether the marker line comes right before it.
fn sh_blocks(readme: &str) -> Vec<(bool, String)> {
    let mut blocks = Vec::new();
    let mut previous = "";
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```sh" {
            let marked = previous.trim_start().starts_with(MARKER);
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            blocks.push((marked, body.join("\n")));
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    blocks
}

/// Whether a block runs the command (so it must be marked and run here).
fn uses_the_command(block: &str) -> bool {
    block.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("a0backup ")
            || l.contains("| a0backup ")
            || l.starts_with("cargo run --release --features cli")
            || l.starts_with("cargo install")
    })
}

#[test]
fn every_command_block_of_the_readme_runs_as_written() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    for (marked, body) in &blocks {
        assert!(
            *marked || !uses_the_command(body),
            "a README block uses a0backup but is not marked to run here:\n{body}"
        );
    }
    let marked: Vec<&String> = blocks.iter().filter(|(m, _)| *m).map(|(_, b)| b).collect();
    assert!(marked.len() >= 3, "{} marked blocks", marked.len());

    let bin_dir = Path::new(env!("CARGO_BIN_EXE_a0backup")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for body in marked {
        let work = tempfile::tempdir().unwrap();
        let d = work.path();
        std::os::unix::fs::symlink(repo.join("tests"), d.join("tests")).unwrap();
        std::fs::create_dir(d.join("home")).unwrap();
        // Twice in a row in the same directory: a reader runs a block again.
        for run in ["first", "second"] {
            let out = Command::new("sh")
                .args(["-eu", "-c", &format!("{STAND_INS}\n{body}\n")])
                .current_dir(d)
                .env("PATH", &path)
                .env("HOME", d.join("home"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "the README block\n{body}\nfailed on its {run} run: {}\nstdout:\n{}\nstderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // What the blocks say they make, they made.
        for (said, made) in [
            ("-C sample-restore", "sample-restore/dump/auth0/users.bson"),
            ("-C restored", "restored/dump/auth0/users.bson"),
            ("-C unpacked", "unpacked/dump/auth0/users.bson"),
            ("--dir man1", "man1/a0backup-restore.1"),
        ] {
            if body.contains(said) {
                assert!(d.join(made).is_file(), "{made} after\n{body}");
            }
        }
    }
}

#[test]
fn the_block_reader_sees_marks_and_commands() {
    let readme =
        "x\n<!-- README-CLI-TEST: y -->\n```sh\na0backup md5 x\n```\n\n```sh\nmake test\n```\n";
    let blocks = sh_blocks(readme);
    assert_eq!(
        blocks,
        vec![
            (true, "a0backup md5 x".to_string()),
            (false, "make test".to_string())
        ]
    );
    assert!(uses_the_command("x | a0backup verify --status - f"));
    assert!(!uses_the_command("make test"));
}
