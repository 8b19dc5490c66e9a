//! The bundled appliance backup (made by Node createCipher with password `Passw0rd`, packed by GNU
//! tar + gzip) decrypts to a tar.gz whose files match its manifest, and its md5 matches the
//! backup-status record.

mod common;

use std::collections::BTreeMap;
use std::io::Read;

use a0backup::files::{self, FileOptions};
use a0backup::{checksum, BackupStatus, Error, Password};
use common::{data, sample_manifest, sha256_hex};

#[test]
fn status_record_from_the_seed_parses_and_matches_the_file() {
    let status = BackupStatus::from_file(&data("sample-backup/backup-status.txt")).unwrap();
    assert_eq!(status.name.as_deref(), Some("backup-retrieve.tar.gz"));
    assert_eq!(status.message.as_deref(), Some("Backup found"));
    let actual = checksum::md5_file(&data("sample-backup/backup-retrieve.tar.gz.enc")).unwrap();
    actual.verify(&status.md5).unwrap();
}

#[test]
fn sample_decrypts_to_the_files_of_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.tar.gz");
    let status = BackupStatus::from_file(&data("sample-backup/backup-status.txt")).unwrap();
    let opts = FileOptions::new()
        .expected_md5(status.md5)
        .expect_gzip(true);
    let summary = files::decrypt_file(
        &data("sample-backup/backup-retrieve.tar.gz.enc"),
        &out,
        &Password::from("Passw0rd"),
        opts,
    )
    .unwrap();
    assert_eq!(summary.ciphertext_md5, Some(status.md5));

    let gz = std::fs::File::open(&out).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let mut found = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            found.insert(path, sha256_hex(&content));
        }
    }
    assert_eq!(found, sample_manifest());
}

#[test]
fn wrong_md5_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.tar.gz");
    let wrong = "00000000000000000000000000000000".parse().unwrap();
    let err = files::decrypt_file(
        &data("sample-backup/backup-retrieve.tar.gz.enc"),
        &out,
        &Password::from("Passw0rd"),
        FileOptions::new().expected_md5(wrong),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no temp file"
    );
}

#[test]
fn wrong_password_is_found_before_any_output_exists() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.tar.gz");
    std::fs::write(&out, b"keep me").unwrap();
    let err = files::decrypt_file(
        &data("sample-backup/backup-retrieve.tar.gz.enc"),
        &out,
        &Password::from("passw0rd"),
        FileOptions::new().replace(true).expect_gzip(true),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongPassword { .. }), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
