//! The public API of the library, listed: `api/public-api.txt` is what the `public-api` tool
//! (cargo-public-api's library) makes of rustdoc's JSON for the crate with its `serde` feature,
//! and this test holds the code to it. So every change to the API (an item added, removed or
//! changed in its signature) shows up in review as a change to that file.
//!
//! rustdoc's JSON output is unstable: it is asked of the stable toolchain with
//! `RUSTC_BOOTSTRAP=1`, into a target directory of its own under target/. To accept a change:
//! `A0B_BLESS=1 cargo test --test public_api`, then commit the file.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// rustdoc's JSON of the library (default features and `serde`; the C API is listed by its
/// header, which tests/header.rs holds to cbindgen).
fn rustdoc_json() -> PathBuf {
    let target = root().join("target/public-api");
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "rustdoc",
            "--lib",
            "--quiet",
            "--features",
            "serde",
            "--target-dir",
        ])
        .arg(&target)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo rustdoc failed");
    target.join("doc/a0backup.json")
}

#[test]
fn the_public_api_is_the_listed_one() {
    let api = public_api::Builder::from_rustdoc_json(rustdoc_json())
        .omit_blanket_impls(true)
        .omit_auto_trait_impls(true)
        .build()
        .expect("public-api reads rustdoc's JSON");
    let listed: String = api.items().map(|item| format!("{item}\n")).collect();
    let path = root().join("api/public-api.txt");
    if std::env::var_os("A0B_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &listed).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != listed {
        let old: std::collections::BTreeSet<&str> = checked_in.lines().collect();
        let new: std::collections::BTreeSet<&str> = listed.lines().collect();
        let gone: Vec<&&str> = old.difference(&new).take(20).collect();
        let added: Vec<&&str> = new.difference(&old).take(20).collect();
        panic!(
            "the public API changed: run `A0B_BLESS=1 cargo test --test public_api` and commit \
             api/public-api.txt\n  gone: {gone:#?}\n  added: {added:#?}"
        );
    }
}
