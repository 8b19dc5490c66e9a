//! include/a0backup.h is what cbindgen makes of src/ffi.rs: regenerate and compare, so the
//! header can never go stale. `A0B_BLESS=1 cargo test --test header` rewrites it.

use std::path::Path;

#[test]
fn checked_in_header_matches_cbindgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/a0backup.h");
    if std::env::var_os("A0B_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/a0backup.h is stale: run `A0B_BLESS=1 cargo test --test header` and commit it"
    );
}
