//! A Rust crate that depends on a0backup (default features) pays nothing for the C API: cargo
//! builds no cdylib or staticlib of a0backup for it, and its binary carries no `a0b_` symbol.
//!
//! The scratch crate is built offline with this repository's Cargo.lock, into a target
//! directory kept under target/ so that later runs rebuild only what changed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A shared or static library of a0backup, as cargo names them.
fn is_c_library(p: &Path) -> bool {
    let name = p.file_name().unwrap().to_string_lossy();
    name.starts_with("liba0backup")
        && (name.ends_with(".a") || name.contains(".so") || name.ends_with(".dylib"))
}

#[test]
fn a_dependent_crate_builds_no_c_library_and_links_no_a0b_symbol() {
    let scratch = tempfile::tempdir().unwrap();
    let krate = scratch.path();
    std::fs::create_dir(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"uses-a0backup\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\na0backup = {{ path = {:?} }}\n\n[workspace]\n",
            root().display().to_string()
        ),
    )
    .unwrap();
    // Something of the library that survives into the binary.
    std::fs::write(
        krate.join("src/main.rs"),
        "fn main() {\n    let d = a0backup::checksum::md5_bytes(std::env::args().count().to_string().as_bytes());\n    println!(\"{d}\");\n}\n",
    )
    .unwrap();
    // The versions this repository is tested with, so the build is offline and its
    // dependencies are shared with earlier runs.
    std::fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();

    let target = root().join("target/dependent-crate");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // A C library of a0backup left by an earlier build (cargo never removes what it no longer
    // makes) goes first, so that only this build can fail the check.
    if target.exists() {
        for p in files_under(&target) {
            if is_c_library(&p) {
                std::fs::remove_file(&p).unwrap();
            }
        }
    }
    let o = Command::new(&cargo)
        .args([
            "build",
            "--offline",
            "--quiet",
            "--message-format=json",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(krate)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        o.status.success(),
        "building the dependent crate failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // What cargo says it made of a0backup for this build: an rlib, without the C API in it.
    let artifacts: Vec<PathBuf> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "a0backup")
        .flat_map(|m| {
            m["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(PathBuf::from))
        })
        .collect();
    let rlibs: Vec<_> = artifacts
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rlib"))
        .collect();
    assert!(!rlibs.is_empty(), "no rlib of a0backup: {artifacts:?}");
    assert!(
        artifacts.iter().all(|p| !is_c_library(p)),
        "cargo made C libraries of a0backup: {artifacts:?}"
    );
    for rlib in rlibs {
        // nm complains about the rlib's metadata member; the objects' symbols are on stdout.
        let nm = Command::new("nm").arg(rlib).output().expect("nm runs");
        let symbols = String::from_utf8_lossy(&nm.stdout);
        assert!(symbols.contains("md5_bytes"), "nm read {}", rlib.display());
        assert!(
            !symbols.contains(" a0b_"),
            "{} holds the C API (a0b_ symbols)",
            rlib.display()
        );
    }
    // Nor is there one anywhere in the target directory.
    let files = files_under(&target);
    let c_libraries: Vec<_> = files.iter().filter(|p| is_c_library(p)).collect();
    assert!(
        c_libraries.is_empty(),
        "C libraries of a0backup were built for a Rust dependent: {c_libraries:?}"
    );

    let exe = target.join("debug/uses-a0backup");
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim().len(), 32);
    let nm = Command::new("nm").arg(&exe).output().expect("nm runs");
    assert!(nm.status.success());
    let symbols = String::from_utf8_lossy(&nm.stdout);
    assert!(symbols.contains("a0backup"), "the library is linked in");
    let exported: Vec<_> = symbols
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| s.starts_with("a0b_"))
        .collect();
    assert!(
        exported.is_empty(),
        "a0b_ symbols in the binary: {exported:?}"
    );
}
