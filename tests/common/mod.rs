//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod tar_build;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The names in `dir`, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The plaintext of every reference vector: byte i is i % 251.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

pub fn load_json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(data(name)).expect("test data present");
    serde_json::from_str(&text).expect("valid JSON")
}

/// A deterministic byte generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
    /// A password of printable ASCII and a few non-ASCII characters, with no newline.
    pub fn password(&mut self) -> String {
        let len = 1 + self.below(24) as usize;
        let alphabet: Vec<char> = "abcXYZ019 !#%&*+-./:;<=>?@[]^_{}~äöü€漢".chars().collect();
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize])
            .collect()
    }
}

/// Whether a program is installed; interop tests against it are skipped (and say so) if not.
/// In CI (`CI` set) a missing oracle is a failure, never a silent skip.
pub fn have(program: &str) -> bool {
    let ok = Command::new(program)
        .arg(if program == "openssl" {
            "version"
        } else {
            "--version"
        })
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is not installed, and CI must run every oracle"
        );
        eprintln!("SKIPPED: {program} is not installed");
    }
    ok
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    to_hex(&sha2::Sha256::digest(data))
}

/// The sample backup's manifest: path inside the archive -> sha256 of its content.
pub fn sample_manifest() -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(data("sample-backup/manifest.sha256"))
        .expect("the manifest is in tests/data")
        .lines()
        .map(|l| {
            let (hash, path) = l.split_once("  ").expect("a sha256sum line");
            (path.to_string(), hash.to_string())
        })
        .collect()
}
