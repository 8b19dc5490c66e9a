//! The library's rooms and layers, held by the code itself: the modules import each other
//! without a cycle; the lower layers know nothing of the jobs above them (`archive` is tar and
//! gzip only: no decryption, no key derivation, no output files); nothing but `ffi` knows the C
//! API; and no file of `src/` is much over 400 lines of code (comments, blank lines and test
//! modules not counted), so that each can be read in one sitting.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The file's code: without comment lines and without its `#[cfg(test)] mod tests`.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file of `src/` belongs to (`archive` for `src/archive/pack.rs`).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib" && name != "bin").then(|| name.to_string())
}

/// Which top-level modules each top-level module names (`crate::NAME`).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src()) {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let code = code(&file);
        let deps = graph.entry(module.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            if !name.is_empty() && name != module {
                deps.insert(name);
            }
        }
    }
    graph
}

#[test]
fn modules_import_each_other_without_a_cycle() {
    let graph = imports();
    // Kahn's algorithm: what is left once every module without imports is taken is a cycle.
    let mut left = graph.clone();
    loop {
        let free: Vec<String> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| m.clone())
            .collect();
        if free.is_empty() {
            break;
        }
        for m in free {
            left.remove(&m);
        }
    }
    assert!(left.is_empty(), "modules in a cycle: {left:?}");
}

#[test]
fn lower_layers_know_nothing_of_the_jobs_above_them() {
    let graph = imports();
    let forbidden: &[(&str, &[&str])] = &[
        // tar and gzip only.
        (
            "archive",
            &[
                "stream",
                "kdf",
                "cipher",
                "files",
                "atomic_file",
                "restore",
                "check",
                "pack",
                "source",
            ],
        ),
        (
            "gzip",
            &["stream", "kdf", "archive", "files", "restore", "check"],
        ),
        ("stream", &["archive", "files", "restore", "check", "pack"]),
        (
            "error",
            &["archive", "stream", "files", "restore", "check", "gzip"],
        ),
    ];
    for (module, not) in forbidden {
        let deps = &graph[*module];
        for n in *not {
            assert!(!deps.contains(*n), "{module} imports {n}: {deps:?}");
        }
    }
    for (module, deps) in &graph {
        if module != "ffi" {
            assert!(!deps.contains("ffi"), "{module} knows the C API");
        }
    }
}

#[test]
fn every_file_can_be_read_in_one_sitting() {
    for file in rust_files(&src()) {
        let lines = code(&file).lines().filter(|l| !l.trim().is_empty()).count();
        assert!(
            lines <= 420,
            "{}: {lines} lines of code; split it into rooms of one concern",
            file.display()
        );
    }
}
