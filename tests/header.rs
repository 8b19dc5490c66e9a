//! include/a0backup.h is what cbindgen makes of src/ffi/ (with cbindgen.toml), under the C
//! contract of src/ffi/mod.rs's module docs: regenerate and compare, so the header can never go
//! stale. `A0B_BLESS=1 cargo test --test header` rewrites it.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The module docs of src/ffi/mod.rs (the C contract) as the comment at the top of the header:
/// the `//!` lines, without the Markdown backticks and heading marks.
fn contract_comment() -> String {
    let source = std::fs::read_to_string(root().join("src/ffi/mod.rs")).unwrap();
    let mut comment = String::from("/*\n");
    for line in source.lines().take_while(|l| l.starts_with("//!")) {
        let text = line
            .strip_prefix("//! ")
            .unwrap_or(line.trim_start_matches("//!"));
        let text = text.strip_prefix("# ").unwrap_or(text).replace('`', "");
        assert!(!text.contains("*/"), "the contract cannot hold */");
        comment.push_str(if text.is_empty() { " *" } else { " * " });
        comment.push_str(&text);
        comment.push('\n');
    }
    comment.push_str(" */");
    comment
}

/// What cbindgen generates now.
fn generate() -> Vec<u8> {
    let mut config =
        cbindgen::Config::from_file(root().join("cbindgen.toml")).expect("cbindgen.toml");
    config.header = Some(contract_comment());
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_src(root().join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    generated
}

#[test]
fn checked_in_header_matches_cbindgen_output() {
    let generated = generate();
    let path = root().join("include/a0backup.h");
    if std::env::var_os("A0B_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/a0backup.h is stale: run `A0B_BLESS=1 cargo test --test header` and commit it"
    );
}

#[test]
fn the_header_carries_the_contract_and_every_part_of_the_api() {
    let header = String::from_utf8(generate()).unwrap();
    assert!(header.starts_with(&contract_comment()));
    for item in [
        "Contract",
        "typedef int32_t a0b_result;",
        "typedef struct a0b_options {",
        "uint8_t replace;",
        "typedef int32_t (*a0b_read_cb)(",
        "typedef int32_t (*a0b_write_cb)(",
        "a0b_result a0b_decrypt_stream(",
        "a0b_result a0b_restore_stream(",
        "void a0b_md5_free(",
        "#define a0b_options_init(options)",
    ] {
        assert!(header.contains(item), "the header lacks {item:?}");
    }
    // Only the C API: no constant of the core modules.
    assert!(!header.contains("SALTED") && !header.contains("PBKDF2_ITERATIONS 10000"));
    assert!(!header.contains(" bool "), "no bool in the ABI");
}
