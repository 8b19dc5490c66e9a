//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`)
//! through the same property checks the libFuzzer targets run, so that `cargo test` keeps them
//! passing without libFuzzer. The checks are `fuzz/src/checks.rs`, included as a module because
//! the root package cannot depend on the fuzz crate.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The input files of one directory, sorted; none if it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("reading a corpus directory").path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

fn replay(target: &str) {
    let corpus = inputs(&fuzz_dir().join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ holds no seed inputs"
    );
    let regressions = inputs(&fuzz_dir().join("regressions").join(target));
    let mut failures = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).expect("reading a fuzz input");
        let outcome = std::panic::catch_unwind(|| checks::check(target, &data));
        let name = file.strip_prefix(fuzz_dir()).unwrap_or(file).display();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => failures.push(format!("fuzz/{name}: {failure}")),
            Err(payload) => failures.push(format!(
                "fuzz/{name}: panicked: {}",
                panic_message(payload.as_ref())
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {target} inputs failed:\n{}",
        failures.len(),
        corpus.len() + regressions.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    for target in checks::TARGETS {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        assert!(source.is_file(), "{} is missing", source.display());
    }
}

#[test]
fn decrypt_corpus() {
    replay("decrypt");
}

#[test]
fn status_corpus() {
    replay("status");
}

#[test]
fn unpack_corpus() {
    replay("unpack");
}

#[test]
fn restore_corpus() {
    replay("restore");
}

#[test]
fn md5_corpus() {
    replay("md5");
}

#[test]
fn bson_corpus() {
    replay("bson");
}

#[test]
fn inflate_corpus() {
    replay("inflate");
}

#[test]
fn extjson_corpus() {
    replay("extjson");
}

#[test]
fn dump_corpus() {
    replay("dump");
}

#[test]
fn query_corpus() {
    replay("query");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    // The md5 check is cheap and its input has no structure to find, so random inputs reach
    // what the fuzzer would (random cut points over random messages of up to a few blocks).
    #[test]
    fn md5_check_on_random_inputs(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000)) {
        if let Err(failure) = checks::md5(&data) {
            proptest::prop_assert!(false, "{}", failure);
        }
    }
}
