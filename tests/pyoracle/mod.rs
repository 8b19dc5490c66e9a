//! python3 and its modules (pymongo, mongomock) as oracles of the tests that include this
//! module: present, or the test is skipped and says so, except in CI (`CI` set), where a missing
//! oracle is a failure. Uses `common::have` for python3 itself.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether `python3` can import every one of `modules`.
pub fn python_with(modules: &[&str]) -> bool {
    if !crate::common::have("python3") {
        return false;
    }
    let import = format!("import {}", modules.join(", "));
    let ok = Command::new("python3")
        .args(["-c", &import])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 cannot `{import}`, and CI must run every oracle \
             (python3 -m pip install 'pymongo>=4.3' mongomock)"
        );
        eprintln!("SKIPPED: python3 cannot `{import}` (pip install 'pymongo>=4.3' mongomock)");
    }
    ok
}

/// A script of the tests, by its path from the repository root.
pub fn script(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs `python3 SCRIPT ARGS...` and returns its standard output; fails the test (with the
/// script's standard error) if it fails.
pub fn run(path: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("python3")
        .arg(script(path))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{path} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the oracle prints UTF-8")
}
