//! Known-answer tests from Node's `createCipher` and the `openssl enc` CLI (tests/data/*.json),
//! fed through every API in many chunkings.

mod common;

use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use a0backup::checksum::{md5_bytes, Md5};
use a0backup::kdf::{evp_bytes_to_key, pbkdf2_sha256};
use a0backup::{
    Cipher, DecryptOptions, DecryptReader, EncryptWriter, Error, Format, KeyIv, Password,
};
use common::{hex, load_json, pattern, to_hex, Rng};

struct Vector {
    name: String,
    key_iv: KeyIv,
    password: Option<Vec<u8>>,
    len: usize,
    ciphertext_md5: String,
    /// The whole ciphertext, or its first and last 64 bytes.
    full: Option<Vec<u8>>,
    head: Vec<u8>,
    tail: Vec<u8>,
}

fn node_vectors() -> Vec<Vector> {
    let v = load_json("createcipher-vectors.json");
    let list = v["vectors"].as_array().expect("vectors array");
    assert!(list.len() >= 15, "all the Node vectors are present");
    list.iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().map(str::to_string);
            let key: [u8; 32] = hex(&s("key_hex").unwrap()).try_into().unwrap();
            let iv: [u8; 16] = hex(&s("iv_hex").unwrap()).try_into().unwrap();
            let full = s("ciphertext_hex").map(|h| hex(&h));
            Vector {
                name: s("name").unwrap(),
                key_iv: KeyIv::new(key, iv),
                password: s("password_hex").map(|h| hex(&h)),
                len: c["plaintext_len"].as_u64().unwrap() as usize,
                ciphertext_md5: s("ciphertext_md5").unwrap(),
                head: full
                    .clone()
                    .unwrap_or_else(|| hex(&s("ciphertext_head_hex").unwrap())),
                tail: full
                    .clone()
                    .unwrap_or_else(|| hex(&s("ciphertext_tail_hex").unwrap())),
                full,
            }
        })
        .collect()
}

fn check_ciphertext(v: &Vector, ct: &[u8]) {
    assert_eq!(ct.len(), v.len, "{}: length", v.name);
    assert_eq!(
        md5_bytes(ct).to_string(),
        v.ciphertext_md5,
        "{}: md5",
        v.name
    );
    if let Some(full) = &v.full {
        assert_eq!(to_hex(ct), to_hex(full), "{}: bytes", v.name);
    } else {
        assert_eq!(&ct[..v.head.len()], &v.head[..], "{}: head", v.name);
        assert_eq!(
            &ct[ct.len() - v.tail.len()..],
            &v.tail[..],
            "{}: tail",
            v.name
        );
    }
}

#[test]
fn evp_bytes_to_key_matches_node_for_every_password() {
    let mut checked = 0;
    for v in node_vectors() {
        if let Some(pw) = &v.password {
            let k = evp_bytes_to_key(pw, None);
            assert_eq!(k, v.key_iv, "{}", v.name);
            assert_eq!(
                Format::Node
                    .derive(&Password::new(pw.clone()), None)
                    .unwrap(),
                v.key_iv
            );
            checked += 1;
        }
    }
    assert!(checked >= 13);
}

#[test]
fn utf8_str_password_is_encoded_like_node() {
    let v = load_json("createcipher-vectors.json");
    for c in v["vectors"].as_array().unwrap() {
        if let Some(utf8) = c["password_utf8"].as_str() {
            let p = Password::from(utf8);
            assert_eq!(to_hex(p.as_bytes()), c["password_hex"].as_str().unwrap());
        }
    }
}

#[test]
fn in_place_cipher_matches_node_in_one_call() {
    for v in node_vectors() {
        let mut buf = pattern(v.len);
        Cipher::new(&v.key_iv).apply(&mut buf);
        check_ciphertext(&v, &buf);
    }
}

#[test]
fn every_chunk_size_from_1_to_257_gives_the_same_bytes() {
    for v in node_vectors().into_iter().filter(|v| v.len <= 4101) {
        let plain = pattern(v.len);
        for chunk in 1..=257usize {
            // In place, chunk by chunk.
            let mut buf = plain.clone();
            let mut c = Cipher::new(&v.key_iv);
            for piece in buf.chunks_mut(chunk) {
                c.apply(piece);
            }
            check_ciphertext(&v, &buf);

            // Through the writer.
            let mut w = EncryptWriter::with_key_iv(Vec::new(), &v.key_iv);
            for piece in plain.chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            let ct = w.finish().unwrap();
            check_ciphertext(&v, &ct);

            // Through the reader, with reads of `chunk` bytes.
            let mut r = DecryptReader::with_key_iv(Cursor::new(ct), &v.key_iv);
            let mut back = Vec::new();
            let mut piece = vec![0u8; chunk];
            loop {
                let n = r.read(&mut piece).unwrap();
                if n == 0 {
                    break;
                }
                back.extend_from_slice(&piece[..n]);
            }
            assert_eq!(back, plain, "{} chunk {chunk}", v.name);
        }
    }
}

#[test]
fn random_split_points_give_the_same_bytes_for_every_vector() {
    let mut rng = Rng::new(7);
    for v in node_vectors() {
        let plain = pattern(v.len);
        for _ in 0..8 {
            let mut buf = plain.clone();
            let mut c = Cipher::new(&v.key_iv);
            let mut at = 0;
            while at < buf.len() {
                let step = 1 + rng.below(70_000) as usize;
                let end = (at + step).min(buf.len());
                c.apply(&mut buf[at..end]);
                at = end;
            }
            check_ciphertext(&v, &buf);
        }
    }
}

#[test]
fn seek_to_each_offset_0_to_600_matches_the_straight_keystream() {
    let v = node_vectors()
        .into_iter()
        .find(|v| v.name == "iv-carry-past-32-bits")
        .expect("vector present");
    let mut keystream = vec![0u8; v.len];
    Cipher::new(&v.key_iv).apply(&mut keystream);
    let ct = v.full.clone().unwrap();
    let plain = pattern(v.len);
    for offset in 0..=600usize {
        let mut c = Cipher::new(&v.key_iv);
        c.seek(offset as u64);
        let mut piece = vec![0u8; 37];
        c.apply(&mut piece);
        assert_eq!(piece, keystream[offset..offset + 37], "offset {offset}");

        let mut r = DecryptReader::with_key_iv(Cursor::new(&ct), &v.key_iv);
        // Start somewhere else first, so the seek really moves.
        r.seek(SeekFrom::End(-1)).unwrap();
        assert_eq!(
            r.seek(SeekFrom::Start(offset as u64)).unwrap(),
            offset as u64
        );
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, plain[offset..], "reader offset {offset}");
    }
}

#[test]
fn seek_current_and_end_through_a_salted_header() {
    let pw = Password::from("Passw0rd");
    let plain = pattern(1000);
    let mut w = EncryptWriter::new(Vec::new(), &pw, Format::OpenSslMd5).unwrap();
    w.write_all(&plain).unwrap();
    let file = w.finish().unwrap();
    assert_eq!(file.len(), 1016);
    let opts = DecryptOptions::new().format(Format::OpenSslMd5);
    let mut r = DecryptReader::new(Cursor::new(file), &pw, opts).unwrap();
    assert_eq!(r.seek(SeekFrom::End(-10)).unwrap(), 990);
    let mut b = [0u8; 4];
    r.read_exact(&mut b).unwrap();
    assert_eq!(b, plain[990..994]);
    assert_eq!(r.seek(SeekFrom::Current(-500)).unwrap(), 494);
    r.read_exact(&mut b).unwrap();
    assert_eq!(b, plain[494..498]);
    assert!(r.seek(SeekFrom::Current(-1000)).is_err());
    assert!(r.seek(SeekFrom::End(-1001)).is_err());
}

#[test]
fn counter_wraps_at_128_bits_like_node() {
    for name in [
        "iv-all-ones-wraps-128",
        "iv-carry-64",
        "iv-carry-past-32-bits",
    ] {
        let v = node_vectors().into_iter().find(|v| v.name == name).unwrap();
        let mut buf = pattern(v.len);
        Cipher::new(&v.key_iv).apply(&mut buf);
        check_ciphertext(&v, &buf);
    }
}

struct OpensslVector {
    name: String,
    password: Vec<u8>,
    salt: [u8; 8],
    key_iv: KeyIv,
    format: Format,
    len: usize,
    file_md5: String,
    file: Option<Vec<u8>>,
    head: Option<Vec<u8>>,
    tail: Option<Vec<u8>>,
}

fn openssl_vectors() -> Vec<OpensslVector> {
    let v = load_json("openssl-enc-vectors.json");
    v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().map(str::to_string);
            let cmd = s("openssl_command").unwrap();
            let format = if cmd.contains("-pbkdf2") {
                let iterations = cmd
                    .split_whitespace()
                    .skip_while(|w| *w != "-iter")
                    .nth(1)
                    .map(|n| n.parse().unwrap())
                    .unwrap_or(10_000);
                Format::OpenSslPbkdf2 { iterations }
            } else if cmd.contains("-nosalt") {
                Format::Node
            } else {
                Format::OpenSslMd5
            };
            let salt_hex = s("salt_hex").unwrap();
            let salt: [u8; 8] = if salt_hex.is_empty() {
                [0; 8]
            } else {
                hex(&salt_hex).try_into().unwrap()
            };
            OpensslVector {
                name: s("name").unwrap(),
                password: hex(&s("password_hex").unwrap()),
                salt,
                key_iv: KeyIv::new(
                    hex(&s("key_hex").unwrap()).try_into().unwrap(),
                    hex(&s("iv_hex").unwrap()).try_into().unwrap(),
                ),
                format,
                len: c["plaintext_len"].as_u64().unwrap() as usize,
                file_md5: s("file_md5").unwrap(),
                file: s("file_hex").map(|h| hex(&h)),
                head: s("file_head_hex").map(|h| hex(&h)),
                tail: s("file_tail_hex").map(|h| hex(&h)),
            }
        })
        .collect()
}

#[test]
fn openssl_key_derivations_match() {
    let vs = openssl_vectors();
    assert_eq!(vs.len(), 5);
    for v in &vs {
        let salt = v.format.is_salted().then_some(&v.salt);
        let k = v
            .format
            .derive(&Password::new(v.password.clone()), salt)
            .unwrap();
        assert_eq!(k, v.key_iv, "{}", v.name);
        match v.format {
            Format::OpenSslMd5 => {
                assert_eq!(evp_bytes_to_key(&v.password, Some(&v.salt)), v.key_iv)
            }
            Format::OpenSslPbkdf2 { iterations } => {
                assert_eq!(
                    pbkdf2_sha256(&v.password, &v.salt, iterations).unwrap(),
                    v.key_iv
                )
            }
            _ => {}
        }
    }
}

#[test]
fn openssl_files_decrypt_with_the_format_given_and_encrypt_to_the_same_bytes() {
    for v in openssl_vectors() {
        let pw = Password::new(v.password.clone());
        // Our encryption with openssl's salt reproduces openssl's file.
        let salt = v.format.is_salted().then_some(v.salt);
        let mut w = EncryptWriter::with_salt(Vec::new(), &pw, v.format, salt).unwrap();
        w.write_all(&pattern(v.len)).unwrap();
        let ours = w.finish().unwrap();
        assert_eq!(md5_bytes(&ours).to_string(), v.file_md5, "{}", v.name);
        if let Some(head) = &v.head {
            assert!(ours.starts_with(head), "{}", v.name);
            assert!(ours.ends_with(v.tail.as_ref().unwrap()), "{}", v.name);
        }
        let file = v.file.clone().unwrap_or(ours);

        let opts = DecryptOptions::new().format(v.format);
        let mut r = DecryptReader::new(Cursor::new(&file), &pw, opts).unwrap();
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, pattern(v.len), "{}", v.name);
        assert_eq!(r.format(), v.format);

        // Without a format, an unsalted file is read as Node's, and a salted one is refused as
        // ambiguous rather than guessed.
        match DecryptReader::new(Cursor::new(&file), &pw, DecryptOptions::new()) {
            Ok(mut r) => {
                assert!(!v.format.is_salted(), "{}", v.name);
                let mut back = Vec::new();
                r.read_to_end(&mut back).unwrap();
                assert_eq!(back, pattern(v.len));
            }
            Err(e @ Error::FormatNeeded) => {
                assert!(v.format.is_salted(), "{}", v.name);
                assert!(e.to_string().contains("openssl-pbkdf2"), "{e}");
            }
            Err(e) => panic!("{}: {e}", v.name),
        }
    }
}

#[test]
fn salted_header_cut_anywhere_is_an_error() {
    let v = openssl_vectors()
        .into_iter()
        .find(|v| v.name == "md5-salted")
        .unwrap();
    let file = v.file.unwrap();
    let pw = Password::new(v.password);
    for cut in 0..16 {
        for format in [Format::OpenSslMd5, Format::OpenSslPbkdf2 { iterations: 10 }] {
            let opts = DecryptOptions::new().format(format);
            let err = DecryptReader::new(Cursor::new(&file[..cut]), &pw, opts).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "cut {cut}: {err}");
        }
        if cut >= 8 {
            let err = DecryptReader::new(Cursor::new(&file[..cut]), &pw, DecryptOptions::new())
                .unwrap_err();
            assert!(
                matches!(err, Error::Malformed { .. }),
                "auto, cut {cut}: {err}"
            );
        }
    }
}

#[test]
fn gzip_expectation_tells_md5_from_pbkdf2_and_catches_a_wrong_password() {
    let gz = [
        0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let pw = Password::from("Passw0rd");
    for format in [
        Format::Node,
        Format::OpenSslMd5,
        Format::OpenSslPbkdf2 { iterations: 10_000 },
    ] {
        let mut w = EncryptWriter::new(Vec::new(), &pw, format).unwrap();
        w.write_all(&gz).unwrap();
        let file = w.finish().unwrap();
        let opts = DecryptOptions::new().expect_gzip(true);
        let mut r = DecryptReader::new(Cursor::new(&file), &pw, opts).unwrap();
        assert_eq!(r.format(), format);
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, gz);

        let wrong = Password::from("Passw0rd!");
        let err = DecryptReader::new(Cursor::new(&file), &wrong, opts).unwrap_err();
        assert!(
            matches!(err, Error::WrongPassword { .. }),
            "{format}: {err}"
        );
    }
}

#[test]
fn md5_incremental_equals_one_shot() {
    let data = pattern(100_000);
    let mut h = Md5::new();
    for piece in data.chunks(333) {
        h.update(piece);
    }
    assert_eq!(h.finish(), md5_bytes(&data));
    assert_eq!(
        md5_bytes(&pattern(100)).to_string(),
        "7acedd1a84a4cfcb6e7a16003242945e",
        "the vectors' plaintext md5"
    );
}
