//! The producer matrix shared by `tests/producers.rs` and `tests/list_differential.rs`: a tree
//! with the awkward parts of a real backup, every archiver that writes `.tar.gz` in every form it
//! offers, GNU tar as the oracle, and a file-by-file comparison of restored trees.
//!
//! Included with `#[path]` by both test files (it is not a test target of its own).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

/// Whether this run is CI (`CI` set, as CI services and `.ci/run` do): there a missing producer
/// or oracle fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The tools a case needs. Each is probed once per test with a command that must succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    /// GNU tar: the oracle and a producer.
    GnuTar,
    Gzip,
    Bsdtar,
    Busybox,
    Python,
    NodeTar,
    Pigz,
    Dd,
}

impl Tool {
    fn probe(self) -> (Command, &'static str) {
        let (program, args, what): (&str, &[&str], &str) = match self {
            Tool::GnuTar => ("tar", &["--version"], "GNU tar"),
            Tool::Gzip => ("gzip", &["--version"], "gzip"),
            Tool::Bsdtar => ("bsdtar", &["--version"], "bsdtar (apt: libarchive-tools)"),
            Tool::Busybox => ("busybox", &["tar", "--help"], "busybox tar (apt: busybox)"),
            Tool::Python => ("python3", &["-c", "import tarfile"], "python3 with tarfile"),
            Tool::NodeTar => {
                let mut c = Command::new("node");
                c.args(["-e", "require(process.argv[1])"])
                    .arg(node_tar_module());
                return (c, "node-tar (node, then `npm ci` in tests/producers/node)");
            }
            Tool::Pigz => ("pigz", &["--version"], "pigz (apt: pigz)"),
            Tool::Dd => ("dd", &["--version"], "dd (coreutils)"),
        };
        let mut c = Command::new(program);
        c.args(args);
        (c, what)
    }

    /// Whether the tool is there and works. GNU tar must also say it is GNU tar.
    fn available(self) -> bool {
        let (mut c, _) = self.probe();
        match c.output() {
            Ok(o) if o.status.success() => {
                self != Tool::GnuTar || String::from_utf8_lossy(&o.stdout).contains("GNU tar")
            }
            _ => false,
        }
    }
}

/// Checks that every tool is installed. A missing one fails the test in CI (where `.ci/run`
/// installs them all); elsewhere it is skipped with a note and `false` is returned.
pub fn require(tools: &[Tool]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|t| !t.available())
        .map(|t| t.probe().1)
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !in_ci(),
        "CI=true and these tools are missing: {missing:?} (.ci/run installs them)"
    );
    eprintln!("SKIPPED: not installed: {missing:?}");
    false
}

pub fn node_tar_module() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/producers/node/node_modules/tar")
}

// ------------------------------------------------------------------------------------ the tree

/// What a format can hold: entries needing more are left out of the tree it is given.
#[derive(Clone, Copy, Debug)]
pub struct Holds {
    /// Names and link targets over 100 bytes, paths over 255.
    pub long: bool,
    /// An mtime before 1970.
    pub pre_epoch: bool,
    /// An mtime beyond 2^33 - 1 seconds (the largest 11-digit octal field, year 2242).
    pub beyond_2_33: bool,
    /// A name that is not UTF-8 (Latin-1 bytes). node-tar cannot archive one: Node reads
    /// directory entries as UTF-8 strings and then cannot `lstat` the mangled name.
    pub non_utf8: bool,
}

pub const HOLDS_ALL: Holds = Holds {
    long: true,
    pre_epoch: true,
    beyond_2_33: true,
    non_utf8: true,
};
/// ustar and v7: 100-byte names (ustar: plus a 155-byte prefix, but our long names do not split),
/// 11 octal digits of mtime, nothing negative.
pub const HOLDS_USTAR: Holds = Holds {
    long: false,
    pre_epoch: false,
    beyond_2_33: false,
    non_utf8: true,
};

/// The name of the top directory of the tree (the `-C parent dir` form stores it).
pub const TOP: &str = "backup";

pub const PRE_EPOCH: i64 = -86_400 * 365; // 1969-01-01
pub const YEAR_2200: i64 = 7_258_118_400; // 2200-01-01, fits 11 octal digits
pub const BEYOND_2_33: i64 = (1 << 33) + 1_000_000; // 2242-03-28
/// The whole seconds of the one mtime with a fraction (users.bson: 2023-11-14 22:13:23.75).
pub const FRACTIONAL: i64 = 1_700_000_003;

enum Spec {
    Dir(String, u32, i64),
    File(OsString, u32, i64, Vec<u8>),
    Symlink(String, String),
}

fn long_dir_1() -> String {
    format!("deep/{}", "d".repeat(100))
}

fn long_dir() -> String {
    format!("{}/{}", long_dir_1(), "e".repeat(100))
}

fn long_file() -> String {
    format!("{}/{}.bson", long_dir(), "f".repeat(60))
}

/// Deterministic bytes (xorshift), so a restored file's contents mean something.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// The tree, as a list in creation order (parents first).
fn specs(holds: Holds) -> Vec<Spec> {
    let t = 1_700_000_000;
    let file = |p: &str, mode, mtime, data: Vec<u8>| Spec::File(p.into(), mode, mtime, data);
    let dir = |p: &str, mode, mtime| Spec::Dir(p.to_string(), mode, mtime);
    let mut v = vec![
        // A mongodump tree.
        dir("dump", 0o755, 1_600_000_001),
        dir("dump/admin", 0o700, 1_600_000_002),
        dir("dump/auth0", 0o750, 1_600_000_003),
        file("dump/admin/system.version.bson", 0o600, t + 1, bytes(1, 59)),
        file(
            "dump/admin/system.version.metadata.json",
            0o640,
            t + 2,
            br#"{"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}],"uuid":"0123"}"#.to_vec(),
        ),
        // Big enough for many tar records and deflate blocks (and pigz's 32 KiB blocks).
        file(
            "dump/auth0/users.bson",
            0o644,
            FRACTIONAL,
            bytes(2, 300_000),
        ),
        file(
            "dump/auth0/users.metadata.json",
            0o644,
            t + 4,
            b"{}".to_vec(),
        ),
        file(
            "dump/auth0/name with spaces.metadata.json",
            0o644,
            t + 5,
            b"spaces".to_vec(),
        ),
        file(
            "dump/\u{fc}n\u{ef}c\u{f6}d\u{e9} \u{540d}\u{524d}.bson",
            0o644,
            t + 6,
            "UTF-8".into(),
        ),
        // Empty things, an executable, world-writable modes (masked by the umask on restore).
        dir("empty dir", 0o755, 1_600_000_004),
        file("empty-file", 0o644, t + 7, Vec::new()),
        file("run.sh", 0o755, t + 8, b"#!/bin/sh\nexit 0\n".to_vec()),
        dir("world", 0o777, 1_600_000_005),
        file("world/writable.txt", 0o666, t + 9, b"666".to_vec()),
        dir("private", 0o700, 1_600_000_006),
        file("private/key.pem", 0o600, t + 10, b"secret".to_vec()),
        file("far-future-2200.bson", 0o644, YEAR_2200, b"2200".to_vec()),
        // A tab and a backslash: GNU tar's listing escapes both.
        file(
            "tab\tand back\\slash.json",
            0o644,
            t + 14,
            b"escapes".to_vec(),
        ),
        Spec::Symlink("link-to-users".into(), "dump/auth0/users.bson".into()),
    ];
    if holds.non_utf8 {
        v.push(Spec::File(
            OsStr::from_bytes(b"latin1-\xe9t\xe9.bson").to_os_string(),
            0o644,
            t + 15,
            b"not UTF-8".to_vec(),
        ));
    }
    if holds.pre_epoch {
        v.push(file("old-1969.bson", 0o644, PRE_EPOCH, b"1969".to_vec()));
    }
    if holds.beyond_2_33 {
        v.push(file(
            "beyond-2-33.bson",
            0o644,
            BEYOND_2_33,
            b"2242".to_vec(),
        ));
    }
    if holds.long {
        v.push(dir("deep", 0o755, 1_600_000_007));
        v.push(dir(&long_dir_1(), 0o755, 1_600_000_008));
        v.push(dir(&long_dir(), 0o755, 1_600_000_009));
        v.push(file(
            &format!("long-name-{}.json", "x".repeat(140)),
            0o644,
            t + 11,
            b"150-byte name".to_vec(),
        ));
        v.push(file(
            &format!("{}.json", "\u{fc}".repeat(60)),
            0o640,
            t + 12,
            b"120-byte UTF-8 name".to_vec(),
        ));
        v.push(file(&long_file(), 0o644, t + 13, b"deep".to_vec()));
        // A link target over 100 bytes (GNU 'K' / PAX linkpath).
        v.push(Spec::Symlink("long-link".into(), long_file()));
    }
    v
}

/// Sets the mtime; [`FRACTIONAL`] gets 0.75 s more than its whole seconds (as real files have:
/// PAX writers store the fraction, ustar fields the whole seconds).
fn set_mtime(path: &Path, secs: i64) {
    let t = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    let t = if secs == FRACTIONAL {
        t + Duration::from_millis(750)
    } else {
        t
    };
    fs::File::open(path)
        .and_then(|f| f.set_modified(t))
        .unwrap_or_else(|e| panic!("setting the mtime of {}: {e}", path.display()));
}

/// Writes the tree under `parent/backup` and returns that directory.
pub fn build_tree(parent: &Path, holds: Holds) -> PathBuf {
    let root = parent.join(TOP);
    fs::create_dir_all(&root).unwrap();
    let specs = specs(holds);
    let mut dirs = Vec::new();
    for s in &specs {
        match s {
            Spec::Dir(p, mode, mtime) => {
                fs::create_dir_all(root.join(p)).unwrap();
                dirs.push((root.join(p), *mode, *mtime));
            }
            Spec::File(p, mode, mtime, data) => {
                let path = root.join(p);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, data).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
                set_mtime(&path, *mtime);
            }
            Spec::Symlink(p, target) => symlink(target, root.join(p)).unwrap(),
        }
    }
    // Directories last, deepest first, once nothing more is written into them.
    dirs.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.components().count()));
    dirs.push((root.clone(), 0o755, 1_600_000_000));
    for (p, mode, mtime) in dirs {
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        set_mtime(&p, mtime);
    }
    root
}

// -------------------------------------------------------------------------------- the producers

/// `-C dir .` (entries `./`, `./dump/...`) or `-C parent dir` (entries `backup/`, `backup/dump/...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Dot,
    Dir,
}

type Make = Box<dyn Fn(&Path, &str, &Path) -> Command + Send + Sync>;

/// One row of the matrix: a producer in one of its forms.
pub struct Case {
    pub name: String,
    pub tools: Vec<Tool>,
    pub holds: Holds,
    pub form: Form,
    /// `(cwd, item, out)`: the command that archives `item` (`.` or `backup`) from `cwd` to `out`.
    make: Make,
}

impl Case {
    /// Builds this case's tree under `work/src` and its archive at `work/archive.tar.gz`.
    /// Returns the archive and the tree root, or the producer's failure.
    pub fn produce(&self, work: &Path) -> Result<(PathBuf, PathBuf), String> {
        let src = work.join("src");
        fs::create_dir_all(&src).unwrap();
        let tree = build_tree(&src, self.holds);
        let out = work.join("archive.tar.gz");
        let (cwd, item) = match self.form {
            Form::Dot => (tree.clone(), "."),
            Form::Dir => (src.clone(), TOP),
        };
        let mut cmd = (self.make)(&cwd, item, &out);
        let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "the producer failed ({}): {cmd:?}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok((out, tree))
    }
}

fn sh(script: &str, args: &[&std::ffi::OsStr]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script).arg("sh").args(args);
    c
}

/// `node-tar`'s `tar.c()` with the given extra options (a JSON object).
const NODE_SCRIPT: &str = "const [mod, out, cwd, item, extra] = process.argv.slice(1);\n\
require(mod).c({gzip: true, sync: true, cwd, file: out, ...JSON.parse(extra)}, [item]);";

/// Python's `tarfile`, writing `item` from `cwd` in the given format.
const PYTHON_SCRIPT: &str = "import os, sys, tarfile\n\
out, cwd, item, fmt = sys.argv[1:]\n\
os.chdir(cwd)\n\
with tarfile.open(out, 'w:gz', format=getattr(tarfile, fmt)) as t:\n    t.add(item)\n";

fn case(
    name: String,
    tools: &[Tool],
    holds: Holds,
    form: Form,
    make: impl Fn(&Path, &str, &Path) -> Command + Send + Sync + 'static,
) -> Case {
    Case {
        name: format!(
            "{name} [{}]",
            if form == Form::Dot {
                "-C dir ."
            } else {
                "-C parent dir"
            }
        ),
        tools: tools.to_vec(),
        holds,
        form,
        make: Box::new(make),
    }
}

/// Both forms of one producer.
fn both(
    name: &str,
    tools: &[Tool],
    holds: Holds,
    make: impl Fn(&Path, &str, &Path) -> Command + Send + Sync + Clone + 'static,
) -> Vec<Case> {
    [Form::Dot, Form::Dir]
        .into_iter()
        .map(|f| case(name.to_string(), tools, holds, f, make.clone()))
        .collect()
}

/// GNU tar in each `--format`, gzip by `-z`. ustar refuses long names and out-of-range mtimes,
/// so it gets the subset without them (v7 likewise).
pub fn gnu_tar() -> Vec<Case> {
    let mut v = Vec::new();
    for (format, holds) in [
        ("gnu", HOLDS_ALL),
        ("posix", HOLDS_ALL),
        ("oldgnu", HOLDS_ALL),
        ("ustar", HOLDS_USTAR),
        ("v7", HOLDS_USTAR),
    ] {
        v.extend(both(
            &format!("GNU tar --format={format} -czf"),
            &[Tool::GnuTar, Tool::Gzip],
            holds,
            move |cwd, item, out| {
                let mut c = Command::new("tar");
                c.arg(format!("--format={format}"))
                    .arg("-C")
                    .arg(cwd)
                    .arg("-czf")
                    .arg(out)
                    .arg(item);
                c
            },
        ));
    }
    v
}

/// GNU tar piped through other gzip writers: pigz (single stream, and `-i` independent 32 KiB
/// blocks), and gzip output zero-padded to a 10 KiB record as a tape or block copy leaves it.
pub fn gnu_tar_other_gzip() -> Vec<Case> {
    let mut v = both(
        "GNU tar -I pigz",
        &[Tool::GnuTar, Tool::Pigz],
        HOLDS_ALL,
        |cwd, item, out| {
            let mut c = Command::new("tar");
            c.args(["-I", "pigz", "-C"])
                .arg(cwd)
                .arg("-cf")
                .arg(out)
                .arg(item);
            c
        },
    );
    v.extend(both(
        "GNU tar -I 'pigz -i -b 32'",
        &[Tool::GnuTar, Tool::Pigz],
        HOLDS_ALL,
        |cwd, item, out| {
            let mut c = Command::new("tar");
            c.args(["-I", "pigz -i -b 32", "-C"])
                .arg(cwd)
                .arg("-cf")
                .arg(out)
                .arg(item);
            c
        },
    ));
    v.extend(both(
        "GNU tar -cz | dd conv=sync (gzip zero-padded to 10 KiB)",
        &[Tool::GnuTar, Tool::Gzip, Tool::Dd],
        HOLDS_ALL,
        |cwd, item, out| {
            sh(
                "tar -C \"$1\" -czf - \"$2\" | dd bs=10240 iflag=fullblock conv=sync status=none > \"$3\"",
                &[cwd.as_os_str(), item.as_ref(), out.as_os_str()],
            )
        },
    ));
    v
}

/// bsdtar (libarchive): its default (restricted pax), pax, gnutar, ustar and v7 (v7 stores
/// directories as old-style ones: a regular type flag and a name ending in `/`). ustar and v7
/// skip files whose mtime they cannot hold ("File modification time too large"), so they get
/// the subset.
pub fn bsdtar() -> Vec<Case> {
    let mut v = Vec::new();
    for (format, holds) in [
        (None, HOLDS_ALL),
        (Some("pax"), HOLDS_ALL),
        (Some("gnutar"), HOLDS_ALL),
        (Some("ustar"), HOLDS_USTAR),
        (Some("v7"), HOLDS_USTAR),
    ] {
        let name = match format {
            None => "bsdtar -czf (default format)".to_string(),
            Some(f) => format!("bsdtar --format {f} -czf"),
        };
        v.extend(both(
            &name,
            &[Tool::GnuTar, Tool::Bsdtar],
            holds,
            move |cwd, item, out| {
                let mut c = Command::new("bsdtar");
                if let Some(f) = format {
                    c.args(["--format", f]);
                }
                c.arg("-C").arg(cwd).arg("-czf").arg(out).arg(item);
                c
            },
        ));
    }
    v
}

/// Python's `tarfile` (`tarfile.open(out, "w:gz", format=...)`, `add(item)`): PAX and GNU, and
/// USTAR with the subset it can hold.
pub fn python_tarfile() -> Vec<Case> {
    let mut v = Vec::new();
    for (format, holds) in [
        ("PAX_FORMAT", HOLDS_ALL),
        ("GNU_FORMAT", HOLDS_ALL),
        ("USTAR_FORMAT", HOLDS_USTAR),
    ] {
        v.extend(both(
            &format!("python3 tarfile {format}"),
            &[Tool::GnuTar, Tool::Python],
            holds,
            move |cwd, item, out| {
                let mut c = Command::new("python3");
                c.arg("-c")
                    .arg(PYTHON_SCRIPT)
                    .arg(out)
                    .arg(cwd)
                    .arg(item)
                    .arg(format);
                c
            },
        ));
    }
    v
}

/// node-tar (the npm `tar` package, pinned in tests/producers/node): `tar.c({gzip: true, cwd})`,
/// default and `portable: true`. Not UTF-8 names are left out (see [`Holds::non_utf8`]).
pub fn node_tar() -> Vec<Case> {
    let mut v = Vec::new();
    for (label, extra) in [("", "{}"), (" portable", r#"{"portable": true}"#)] {
        v.extend(both(
            &format!("node-tar tar.c({{gzip}}){label}"),
            &[Tool::GnuTar, Tool::NodeTar],
            Holds {
                non_utf8: false,
                ..HOLDS_ALL
            },
            move |cwd, item, out| {
                let mut c = Command::new("node");
                c.arg("-e")
                    .arg(NODE_SCRIPT)
                    .arg(node_tar_module())
                    .arg(out)
                    .arg(cwd)
                    .arg(item)
                    .arg(extra);
                c
            },
        ));
    }
    v
}

/// busybox tar (`tar czf`, GNU long names).
pub fn busybox() -> Vec<Case> {
    both(
        "busybox tar -czf",
        &[Tool::GnuTar, Tool::Busybox],
        HOLDS_ALL,
        |cwd, item, out| {
            let mut c = Command::new("busybox");
            c.arg("tar")
                .arg("-C")
                .arg(cwd)
                .arg("-czf")
                .arg(out)
                .arg(item);
            c
        },
    )
}

pub fn all_cases() -> Vec<Case> {
    let mut v = gnu_tar();
    v.extend(gnu_tar_other_gzip());
    v.extend(bsdtar());
    v.extend(python_tarfile());
    v.extend(node_tar());
    v.extend(busybox());
    v
}

/// The cases whose tools are all installed. In CI a missing tool fails (see [`require`]);
/// elsewhere its cases are left out, with a note.
pub fn runnable(cases: Vec<Case>) -> Vec<Case> {
    let mut tools: Vec<Tool> = cases.iter().flat_map(|c| c.tools.clone()).collect();
    tools.sort();
    tools.dedup();
    let missing: Vec<Tool> = tools.into_iter().filter(|t| !require(&[*t])).collect();
    cases
        .into_iter()
        .filter(|c| c.tools.iter().all(|t| !missing.contains(t)))
        .collect()
}

// ---------------------------------------------------------------------------- running things

/// Runs a program under `umask 022` (the usual default, set explicitly so the expected modes do
/// not depend on the caller's): GNU tar's `--no-same-permissions` and a0backup both see it.
pub fn umask_022(program: &Path, args: &[OsString]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(program)
        .args(args);
    c
}

pub fn a0backup_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_a0backup"))
}

pub fn os(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_os_string()).collect()
}

pub fn describe(o: &Output) -> String {
    let code = match o.status.code() {
        Some(101) => "exit 101 (a panic)".to_string(),
        Some(c) => format!("exit {c}"),
        None => format!("{}", o.status),
    };
    // The message, without a panic's backtrace (RUST_BACKTRACE may be set for the tests).
    let stderr = String::from_utf8_lossy(&o.stderr);
    let message: Vec<&str> = stderr
        .lines()
        .take_while(|l| !l.starts_with("stack backtrace:") && !l.starts_with("note: run with"))
        .filter(|l| !l.trim().is_empty())
        .collect();
    format!("{code}: {}", message.join(" / "))
}

/// GNU tar extracts `archive` into `dest` (created) as it does for an ordinary user: no
/// ownership, modes masked by the umask (`--no-same-permissions`; as root GNU tar would keep
/// the archive's modes otherwise), mtimes restored. `--delay-directory-restore` because bsdtar
/// and node-tar write breadth-first (`backup/dump/` long before `backup/dump/admin/`): without it
/// GNU tar sets a directory's time when it leaves it and the later entries change it again.
pub fn oracle_extract(archive: &Path, dest: &Path) -> Result<(), String> {
    fs::create_dir_all(dest).unwrap();
    let o = umask_022(
        Path::new("tar"),
        &os(&[
            &"--no-same-owner",
            &"--no-same-permissions",
            &"--delay-directory-restore",
            &"-xzf",
            &archive,
            &"-C",
            &dest,
        ]),
    )
    .output()
    .unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "GNU tar -xzf (the oracle) failed: {}",
            describe(&o)
        ))
    }
}

// ------------------------------------------------------------------------------- comparing trees

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File { len: u64, sha256: String },
    Symlink(PathBuf),
    Other(u32),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    pub mode: u32,
    pub mtime: i64,
}

/// Every path under `root` (not `root` itself), without following symlinks.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.unwrap().path();
            let m = fs::symlink_metadata(&path).unwrap();
            let ft = m.file_type();
            let kind = if ft.is_dir() {
                Kind::Dir
            } else if ft.is_symlink() {
                Kind::Symlink(fs::read_link(&path).unwrap())
            } else if ft.is_file() {
                let data = fs::read(&path).unwrap();
                Kind::File {
                    len: data.len() as u64,
                    sha256: sha256_hex(&data),
                }
            } else {
                Kind::Other(m.mode() & 0o170000)
            };
            out.insert(
                path.strip_prefix(root).unwrap().to_path_buf(),
                Node {
                    kind: kind.clone(),
                    mode: m.mode() & 0o7777,
                    mtime: m.mtime(),
                },
            );
            if kind == Kind::Dir {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The differences between two trees, one line each. Always compared: the set of paths, kinds,
/// file contents and symlink targets. With `meta`, also the mode bits and mtime (seconds) of
/// files and directories (not of symlinks: their mode is always 0777 on Linux and issue 11 asks
/// nothing of their times).
pub fn compare(
    expected: &BTreeMap<PathBuf, Node>,
    actual: &BTreeMap<PathBuf, Node>,
    meta: bool,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let show = |p: &Path| String::from_utf8_lossy(p.as_os_str().as_bytes()).into_owned();
    for (path, e) in expected {
        let Some(a) = actual.get(path) else {
            diffs.push(format!("{:?}: missing", show(path)));
            continue;
        };
        if e.kind != a.kind {
            diffs.push(format!(
                "{:?}: expected {:?}, got {:?}",
                show(path),
                e.kind,
                a.kind
            ));
            continue;
        }
        if meta && !matches!(e.kind, Kind::Symlink(_)) {
            if e.mode != a.mode {
                diffs.push(format!(
                    "{:?}: mode expected {:o}, got {:o}",
                    show(path),
                    e.mode,
                    a.mode
                ));
            }
            if e.mtime != a.mtime {
                diffs.push(format!(
                    "{:?}: mtime expected {}, got {}",
                    show(path),
                    e.mtime,
                    a.mtime
                ));
            }
        }
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        diffs.push(format!("{:?}: unexpected", show(path)));
    }
    diffs
}
