//! Builds tests/c/test_a0backup.c with the system C compiler against include/a0backup.h and
//! both the shared and the static library, runs it, and runs it again under valgrind when that
//! is installed. Also compiles the header as C99 and as C++ with every warning an error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding the freshly built `liba0backup.so` and `liba0backup.a`.
///
/// `cargo test` builds the library only as an rlib for the tests, so the C libraries are built
/// here, once, into a target directory of their own (no lock shared with the running cargo).
fn target_dir() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = root().join("target/c-api");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--lib", "--quiet", "--target-dir"])
                .arg(&target)
                .current_dir(root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the C libraries failed");
            target.join("debug")
        })
        .clone()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compile(out: &Path, link: &[&str]) {
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("tests/c/test_a0backup.c"))
        .arg("-o")
        .arg(out)
        .args(link);
    let o = cmd.output().expect("cc runs");
    assert!(
        o.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn run(cmd: &mut Command) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let o = cmd
        .arg(common::data(""))
        .arg(scratch.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "C tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn c_tests_against_the_shared_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("test_shared");
    // The library carries a versioned soname (build.rs), which is what the loader looks for:
    // give it that name beside the plain one, as `make install` does.
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    let built = target_dir().join("liba0backup.so");
    let soname = format!("liba0backup.so.0.{}", env!("CARGO_PKG_VERSION_MINOR"));
    for name in ["liba0backup.so", soname.as_str()] {
        std::os::unix::fs::symlink(&built, lib.join(name)).unwrap();
    }
    compile(
        &exe,
        &[
            &format!("-L{}", lib.display()),
            &format!("-Wl,-rpath,{}", lib.display()),
            "-la0backup",
        ],
    );
    run(&mut Command::new(&exe));

    if common::have("valgrind") {
        let stderr = run(Command::new("valgrind")
            .args([
                "--error-exitcode=99",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "--quiet",
            ])
            .arg(&exe));
        assert!(!stderr.contains("definitely lost"), "{stderr}");
    }
}

#[test]
fn c_tests_against_the_static_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("test_static");
    let lib = target_dir().join("liba0backup.a");
    compile(&exe, &[lib.to_str().unwrap(), "-lpthread", "-ldl", "-lm"]);
    run(&mut Command::new(&exe));
}

#[test]
fn header_compiles_as_c99_and_cpp_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("h.c");
    std::fs::write(
        &src,
        "#include \"a0backup.h\"\nint main(void) { return a0b_version() == 0; }\n",
    )
    .unwrap();
    for (compiler, std) in [("cc", "-std=c99"), ("c++", "-std=c++11")] {
        if !common::have(compiler) {
            continue;
        }
        let mut cmd = Command::new(compiler);
        cmd.args([
            std,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
        ]);
        if compiler == "c++" {
            cmd.args(["-x", "c++"]);
        }
        let o = cmd
            .arg("-I")
            .arg(root().join("include"))
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{compiler}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
