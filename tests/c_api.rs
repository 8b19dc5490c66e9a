//! Builds the C libraries (the `capi` feature) as the Makefile does, then builds
//! tests/c/test_a0backup.c with the system C compiler against include/a0backup.h and both the
//! shared and the static library, runs it, and runs it again under valgrind when that is
//! installed. Also compiles the header as C99 and as C++ with every warning an error, and
//! checks that the header declares exactly what the shared library exports.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The soname of this version: 0.y for 0.y.z versions, as the Makefile and cargo-c make it.
fn soname() -> String {
    match env!("CARGO_PKG_VERSION_MAJOR") {
        "0" => format!("liba0backup.so.0.{}", env!("CARGO_PKG_VERSION_MINOR")),
        major => format!("liba0backup.so.{major}"),
    }
}

/// A directory laid out as `make capi` lays out target/capi: liba0backup.so.X.Y.Z with its
/// soname and development links, and liba0backup.a.
///
/// The crate is an rlib only, so the C libraries are built here, once, with `cargo rustc`
/// (the Makefile's command, in debug) into a target directory of their own (no lock shared
/// with the running cargo).
fn lib_dir() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = root().join("target/c-api");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["rustc", "--lib", "--quiet", "--features", "capi"])
                .args(["--crate-type", "cdylib,staticlib", "--target-dir"])
                .arg(&target)
                .args(["--", "-C"])
                .arg(format!("link-arg=-Wl,-soname,{}", soname()))
                .current_dir(root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the C libraries failed");
            let built = target.join("debug");
            let lib = target.join("lib");
            let _ = std::fs::remove_dir_all(&lib);
            std::fs::create_dir_all(&lib).unwrap();
            let real = format!("liba0backup.so.{}", env!("CARGO_PKG_VERSION"));
            std::fs::copy(built.join("liba0backup.so"), lib.join(&real)).unwrap();
            std::os::unix::fs::symlink(&real, lib.join(soname())).unwrap();
            std::os::unix::fs::symlink(soname(), lib.join("liba0backup.so")).unwrap();
            std::fs::copy(built.join("liba0backup.a"), lib.join("liba0backup.a")).unwrap();
            lib
        })
        .clone()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the C test program `tests/c/<dir>/test_a0backup.c` (`dir` "" for today's) against
/// the header next to it (today's: include/).
fn compile(out: &Path, dir: &str, link: &[&str]) {
    let include = match dir {
        "" => root().join("include"),
        dir => root().join("tests/c").join(dir),
    };
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(include)
        .arg(root().join("tests/c").join(dir).join("test_a0backup.c"))
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
    let lib = lib_dir();
    compile(&exe, "", &[&format!("-L{}", lib.display()), "-la0backup"]);
    // No rpath: the loader finds the soname's link through LD_LIBRARY_PATH, as the README's
    // steps without installing run a program.
    run(Command::new(&exe).env("LD_LIBRARY_PATH", &lib));
    run_under_valgrind(&exe, &lib);
}

/// The ABI stays: the C test program of the previous version, built with that version's
/// header (tests/c/previous, as they were before the API reshaping of issue 22), runs against
/// today's shared library, under valgrind too.
#[test]
fn the_previous_c_test_program_runs_against_this_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("test_previous");
    let lib = lib_dir();
    compile(
        &exe,
        "previous",
        &[&format!("-L{}", lib.display()), "-la0backup"],
    );
    run(Command::new(&exe).env("LD_LIBRARY_PATH", &lib));
    run_under_valgrind(&exe, &lib);
}

fn run_under_valgrind(exe: &Path, lib: &Path) {
    if common::have("valgrind") {
        let stderr = run(Command::new("valgrind")
            .env("LD_LIBRARY_PATH", lib)
            .args([
                "--error-exitcode=99",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "--quiet",
            ])
            .arg(exe));
        assert!(!stderr.contains("definitely lost"), "{stderr}");
    }
}

#[test]
fn c_tests_against_the_static_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("test_static");
    let lib = lib_dir().join("liba0backup.a");
    compile(
        &exe,
        "",
        &[lib.to_str().unwrap(), "-lpthread", "-ldl", "-lm"],
    );
    run(&mut Command::new(&exe));
}

#[test]
fn the_shared_library_has_its_soname() {
    if !common::have("readelf") {
        return;
    }
    let o = Command::new("readelf")
        .arg("-d")
        .arg(lib_dir().join("liba0backup.so"))
        .output()
        .unwrap();
    let dynamic = String::from_utf8_lossy(&o.stdout);
    assert!(
        dynamic.contains(&format!("Library soname: [{}]", soname())),
        "{dynamic}"
    );
}

/// The `a0b_` functions the header declares.
fn declared_functions() -> Vec<String> {
    let header = std::fs::read_to_string(root().join("include/a0backup.h")).unwrap();
    let mut names: Vec<String> = header
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("//") && !l.starts_with(' '))
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("a0b_").then(|| name.to_string())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_header_declares_exactly_what_the_library_exports() {
    if !common::have("nm") {
        return;
    }
    let o = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib_dir().join("liba0backup.so"))
        .output()
        .unwrap();
    let mut exported: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| s.starts_with("a0b_"))
        .map(String::from)
        .collect();
    exported.sort();
    let declared = declared_functions();
    assert!(declared.len() > 15, "{declared:?}");
    assert_eq!(declared, exported);
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
            "-Wshadow",
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
