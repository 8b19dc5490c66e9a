//! Interop with the real peers, when installed: Node's `createCipher` (the appliance's own
//! encryption) and the `openssl enc` CLI in all three formats, in both directions.

mod common;

use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::process::Command;

use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Format, Password};
use common::{have, Rng};

/// Node's createCipher/createDecipher, as the appliance and the seed's decrypt script use them.
/// Node 22 removed them, so the test says so and skips there.
const NODE_SCRIPT: &str = r#"
const crypto = require('crypto'); const fs = require('fs');
const [mode, pwHex, input, output] = process.argv.slice(1);
const pw = Buffer.from(pwHex, 'hex');
if (typeof crypto.createCipher !== 'function') { console.log('NO_CREATECIPHER'); process.exit(0); }
const c = mode === 'enc' ? crypto.createCipher('aes-256-ctr', pw) : crypto.createDecipher('aes-256-ctr', pw);
fs.writeFileSync(output, Buffer.concat([c.update(fs.readFileSync(input)), c.final()]));
"#;

fn node(mode: &str, password: &[u8], input: &Path, output: &Path) -> bool {
    let out = Command::new("node")
        .args(["--no-deprecation", "--no-warnings", "-e", NODE_SCRIPT, mode])
        .arg(common::to_hex(password))
        .arg(input)
        .arg(output)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if String::from_utf8_lossy(&out.stdout).contains("NO_CREATECIPHER") {
        eprintln!("SKIPPED: this Node has no createCipher");
        return false;
    }
    true
}

fn sizes(rng: &mut Rng) -> Vec<usize> {
    let mut v = vec![0, 1, 15, 16, 17, 4095, 4096, 65_537, 1_048_576 + 3];
    for _ in 0..6 {
        v.push(rng.below(300_000) as usize);
    }
    v
}

fn decrypt_all(file: &[u8], pw: &Password, format: Format) -> Vec<u8> {
    let opts = DecryptOptions::new().format(format);
    let mut r = DecryptReader::new(Cursor::new(file), pw, opts).unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

fn encrypt_all(plain: &[u8], pw: &Password, format: Format) -> Vec<u8> {
    let mut w = EncryptWriter::new(Vec::new(), pw, format).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap()
}

#[test]
fn node_createcipher_both_ways() {
    if !have("node") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut rng = Rng::new(2024);
    for (i, size) in sizes(&mut rng).into_iter().enumerate() {
        let plain = rng.bytes(size);
        // Random passwords, and every few a password that is not UTF-8.
        let pw_bytes = if i % 4 == 3 {
            rng.bytes(1 + i)
        } else {
            rng.password().into_bytes()
        };
        let pw = Password::new(pw_bytes.clone());

        std::fs::write(&a, &plain).unwrap();
        if !node("enc", &pw_bytes, &a, &b) {
            return;
        }
        let node_ct = std::fs::read(&b).unwrap();
        assert_eq!(
            decrypt_all(&node_ct, &pw, Format::Node),
            plain,
            "size {size}"
        );
        assert_eq!(
            encrypt_all(&plain, &pw, Format::Node),
            node_ct,
            "size {size}"
        );

        let ours = encrypt_all(&plain, &pw, Format::Node);
        std::fs::write(&a, &ours).unwrap();
        node("dec", &pw_bytes, &a, &b);
        assert_eq!(std::fs::read(&b).unwrap(), plain, "size {size}");
    }
}

fn openssl_args(format: Format) -> Vec<String> {
    let mut args: Vec<String> = vec!["enc".into(), "-aes-256-ctr".into()];
    match format {
        Format::Node => args.extend(["-nosalt", "-md", "md5"].map(String::from)),
        Format::OpenSslMd5 => args.extend(["-md", "md5"].map(String::from)),
        Format::OpenSslPbkdf2 { iterations } => {
            args.extend(["-pbkdf2", "-md", "sha256", "-iter"].map(String::from));
            args.push(iterations.to_string());
        }
        _ => unreachable!(),
    }
    args
}

fn openssl(format: Format, decrypt: bool, pw_file: &Path, input: &Path, output: &Path) {
    let mut cmd = Command::new("openssl");
    cmd.args(openssl_args(format));
    if decrypt {
        cmd.arg("-d");
    }
    cmd.arg("-pass")
        .arg(format!("file:{}", pw_file.display()))
        .arg("-in")
        .arg(input)
        .arg("-out")
        .arg(output);
    let out = cmd.output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openssl_enc_all_three_formats_both_ways() {
    if !have("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b, pwf) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("pw"),
    );
    let mut rng = Rng::new(99);
    let formats = [
        Format::Node,
        Format::OpenSslMd5,
        Format::OpenSslPbkdf2 { iterations: 10_000 },
        Format::OpenSslPbkdf2 {
            iterations: 1 + rng.below(3000) as u32,
        },
    ];
    for format in formats {
        for size in [0usize, 1, 16, 33, 70_001, rng.below(1 << 20) as usize] {
            let plain = rng.bytes(size);
            let pw_text = rng.password();
            let pw = Password::from(pw_text.as_str());
            std::fs::write(&pwf, format!("{pw_text}\n")).unwrap();

            std::fs::write(&a, &plain).unwrap();
            openssl(format, false, &pwf, &a, &b);
            let theirs = std::fs::read(&b).unwrap();
            assert_eq!(
                decrypt_all(&theirs, &pw, format),
                plain,
                "{format} size {size}"
            );

            let ours = encrypt_all(&plain, &pw, format);
            std::fs::write(&a, &ours).unwrap();
            openssl(format, true, &pwf, &a, &b);
            assert_eq!(std::fs::read(&b).unwrap(), plain, "{format} size {size}");
        }
    }
}
