//! Hints added to clap's own usage errors.
//!
//! `a0backup restore B.enc restored`: DEST given as a second operand, without `-C`. clap says
//! "unexpected argument 'restored' found"; the hint says how DEST is given. It is added only
//! where that reading is the likely one:
//!
//! * the command is `restore` or `unpack` (those whose DEST is `-C DEST`);
//! * the unexpected argument is an operand (not an option), and `-C`/`--directory` was not
//!   given (with it, the operand is something else: a second input?);
//! * the operand names a directory or nothing yet (not a file: `restore B.enc other.enc`
//!   names two inputs, or the two the wrong way round), and does not end in `.enc`, `.gz`,
//!   `.tgz` or `.tar` (a backup's name, even one not downloaded yet).

use std::ffi::OsString;
use std::path::Path;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// `e` with a hint, where one of the rules above applies to the command line `args`.
pub fn add(mut e: clap::Error, args: &[OsString]) -> clap::Error {
    if e.kind() != ErrorKind::UnknownArgument {
        return e;
    }
    let Some(ContextValue::String(operand)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    if let Some(tip) = dest_without_c(args, &operand.clone()) {
        e.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.into()]),
        );
    }
    e
}

/// The hint for `operand`, unexpected in `args`, when it is a DEST given without `-C`.
fn dest_without_c(args: &[OsString], operand: &str) -> Option<String> {
    if operand.starts_with('-') {
        return None;
    }
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    // The options before the subcommand (-q, --json) take no value.
    let command = words.by_ref().find(|w| !w.starts_with('-'))?;
    let verb = match command.as_ref() {
        "restore" => "restore",
        "unpack" => "unpack",
        _ => return None,
    };
    let given_c = words.take_while(|w| w != "--").any(|w| {
        w == "--directory"
            || w.starts_with("--directory=")
            || w.strip_prefix('-')
                .is_some_and(|shorts| !shorts.starts_with('-') && shorts.contains('C'))
    });
    let path = Path::new(operand);
    let a_file = path.exists() && !path.is_dir();
    let lower = operand.to_ascii_lowercase();
    let a_backups_name = [".enc", ".gz", ".tgz", ".tar"]
        .iter()
        .any(|s| lower.ends_with(s));
    if given_c || a_file || a_backups_name {
        return None;
    }
    Some(format!(
        "to {verb} into '{operand}', give it with -C: `-C {}`",
        shell_word(operand)
    ))
}

/// `s` as a shell reads it back: as it is when it holds nothing the shell treats specially,
/// else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-+,:@%=".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(args: &[&str], operand: &str) -> Option<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        dest_without_c(&args, operand)
    }

    #[test]
    fn only_where_the_operand_reads_as_dest() {
        let tip = Some("to restore into 'restored', give it with -C: `-C restored`".to_string());
        assert_eq!(
            hint(&["a0backup", "restore", "B.enc", "restored"], "restored"),
            tip
        );
        assert_eq!(
            hint(
                &[
                    "a0backup",
                    "-q",
                    "restore",
                    "--password-file",
                    "pw",
                    "B.enc",
                    "restored"
                ],
                "restored"
            ),
            tip
        );
        assert_eq!(
            hint(&["a0backup", "unpack", "B.tar.gz", "my dir"], "my dir"),
            Some("to unpack into 'my dir', give it with -C: `-C 'my dir'`".to_string())
        );
        // Another command, DEST given, an option, a backup's name, a file.
        assert_eq!(hint(&["a0backup", "list", "B.enc", "x"], "x"), None);
        assert_eq!(
            hint(&["a0backup", "restore", "-C", "r", "B.enc", "x"], "x"),
            None
        );
        assert_eq!(
            hint(&["a0backup", "restore", "-fC", "r", "B.enc", "x"], "x"),
            None
        );
        assert_eq!(
            hint(&["a0backup", "restore", "--directory=r", "B.enc", "x"], "x"),
            None
        );
        assert_eq!(hint(&["a0backup", "restore", "B.enc", "-x"], "-x"), None);
        assert_eq!(
            hint(&["a0backup", "restore", "B.enc", "C.ENC"], "C.ENC"),
            None
        );
        assert_eq!(
            hint(&["a0backup", "restore", "B.enc", "C.tgz"], "C.tgz"),
            None
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        let file = file.path().to_str().unwrap();
        assert_eq!(hint(&["a0backup", "restore", "B.enc", file], file), None);
        // An existing directory is a DEST.
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().to_str().unwrap();
        assert!(hint(&["a0backup", "restore", "B.enc", dir], dir).is_some());
    }
}
