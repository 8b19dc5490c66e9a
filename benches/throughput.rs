//! In-process throughput of each stage of a restore: key derivation, AES-256-CTR, MD5,
//! decrypt-while-hashing, and inflate.
//!
//! `cargo bench --bench throughput` runs in about a minute: every group measures for 3 s after a
//! 1 s warm-up, 10 samples. Whole-process comparisons with the peers (openssl, node, md5sum,
//! tar, pigz) are in `benches/compare.sh`.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::Duration;

use a0backup::checksum::{md5_bytes, Md5};
use a0backup::files::{self, FileOptions};
use a0backup::kdf::{evp_bytes_to_key, pbkdf2_sha256, DEFAULT_PBKDF2_ITERATIONS};
use a0backup::pack::{pack_writer, PackOptions};
use a0backup::restore::{restore_reader, RestoreOptions};
use a0backup::{Cipher, EncryptWriter, Format, Password};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// The appliance documentation's sample password.
const PASSWORD: &str = "Passw0rd";

/// A deterministic generator (xorshift64*), so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.fill(&mut v);
        v
    }

    fn hex(&mut self, digits: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..digits)
            .map(|_| HEX[self.below(16) as usize] as char)
            .collect()
    }
}

/// Encrypts `plain` as the appliance does (Node `createCipher`: no header, EVP_BytesToKey).
fn node_encrypt(plain: &[u8]) -> Vec<u8> {
    let mut w = EncryptWriter::new(Vec::new(), &Password::from(PASSWORD), Format::Node)
        .expect("the Node format needs no salt");
    w.write_all(plain).expect("writing to a Vec");
    w.finish().expect("writing to a Vec")
}

/// A tiny BSON document writer: enough for mongodump-like records (strings, numbers, dates,
/// booleans, ObjectIds, one level of sub-document).
struct Bson(Vec<u8>);

impl Bson {
    fn new() -> Bson {
        Bson(vec![0; 4])
    }

    fn key(&mut self, tag: u8, key: &str) {
        self.0.push(tag);
        self.0.extend_from_slice(key.as_bytes());
        self.0.push(0);
    }

    fn string(mut self, key: &str, value: &str) -> Bson {
        self.key(0x02, key);
        let len = i32::try_from(value.len() + 1).expect("short string");
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(value.as_bytes());
        self.0.push(0);
        self
    }

    fn int32(mut self, key: &str, value: i32) -> Bson {
        self.key(0x10, key);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    fn date(mut self, key: &str, millis: i64) -> Bson {
        self.key(0x09, key);
        self.0.extend_from_slice(&millis.to_le_bytes());
        self
    }

    fn boolean(mut self, key: &str, value: bool) -> Bson {
        self.key(0x08, key);
        self.0.push(u8::from(value));
        self
    }

    fn object_id(mut self, key: &str, rng: &mut Rng, time: u32) -> Bson {
        self.key(0x07, key);
        self.0.extend_from_slice(&time.to_be_bytes());
        self.0.extend_from_slice(&rng.next().to_le_bytes());
        self
    }

    fn document(mut self, key: &str, doc: Bson) -> Bson {
        self.key(0x03, key);
        self.0.extend_from_slice(&doc.finish());
        self
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.push(0);
        let len = i32::try_from(self.0.len()).expect("small document");
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "corp.example.net",
    "mail.example.io",
];
const CONNECTIONS: &[&str] = &[
    "Username-Password-Authentication",
    "google-oauth2",
    "github",
    "samlp-corp",
    "ad-ldap",
];
const LOG_TYPES: &[&str] = &["s", "f", "fp", "slo", "sapi", "seccft", "fu", "w"];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "node-superagent/3.8.3",
    "curl/8.5.0",
];

/// A user record as Auth0 stores them: names from a small vocabulary (compressible), bcrypt
/// hashes and ids (not).
fn user_doc(rng: &mut Rng, i: u64) -> Vec<u8> {
    let created = 1_600_000_000 + rng.below(150_000_000) as u32;
    let first = rng.pick(FIRST);
    let email = format!("{first}.{i}@{}", rng.pick(DOMAINS));
    let conn = rng.pick(CONNECTIONS);
    let app_metadata = Bson::new()
        .string("plan", rng.pick(&["free", "pro", "enterprise"]))
        .int32("seats", rng.below(500) as i32);
    Bson::new()
        .object_id("_id", rng, created)
        .string("tenant", "acme")
        .string("connection", conn)
        .string("user_id", &format!("auth0|{}", rng.hex(24)))
        .string("email", &email)
        .boolean("email_verified", rng.below(10) < 8)
        .string("name", &format!("{first} {}", rng.pick(FIRST)))
        .string("password", &format!("$2b$10${}", rng.hex(53)))
        .date("created_at", i64::from(created) * 1000)
        .date(
            "last_login",
            (i64::from(created) + rng.below(30_000_000) as i64) * 1000,
        )
        .int32("logins_count", rng.below(2000) as i32)
        .string(
            "last_ip",
            &format!(
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.below(256)
            ),
        )
        .document("app_metadata", app_metadata)
        .finish()
}

/// A tenant log record (logins, failures, API calls).
fn log_doc(rng: &mut Rng, i: u64) -> Vec<u8> {
    let at = 1_700_000_000 + (i * 7) as u32;
    Bson::new()
        .object_id("_id", rng, at)
        .string("type", rng.pick(LOG_TYPES))
        .date("date", i64::from(at) * 1000)
        .string("client_id", &rng.hex(32))
        .string(
            "client_name",
            rng.pick(&["Dashboard", "Mobile App", "API Explorer", "Portal"]),
        )
        .string("connection", rng.pick(CONNECTIONS))
        .string(
            "ip",
            &format!(
                "172.{}.{}.{}",
                rng.below(32),
                rng.below(256),
                rng.below(256)
            ),
        )
        .string("user_agent", rng.pick(AGENTS))
        .string("user_id", &format!("auth0|{}", rng.hex(24)))
        .string(
            "description",
            rng.pick(&["", "Wrong email or password.", "Successful login"]),
        )
        .finish()
}

/// A gzipped tar of a mongodump-shaped tree (`dump/auth0/{users,logs}.bson` and their
/// metadata), grown until the gzip is about `gz_target` bytes: what an appliance backup is
/// before encryption. Returns the gzip and the size of the tar inside.
fn mongodump_tar_gz(gz_target: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng::new(5);
    // These records gzip (-6) to about RATIO of their size.
    const RATIO: f64 = 0.25;
    let (mut users, mut logs) = (Vec::new(), Vec::new());
    let mut i = 0u64;
    let mut plain = 0usize;
    while (plain as f64) * RATIO < gz_target as f64 {
        let u = user_doc(&mut rng, i);
        let l = log_doc(&mut rng, i);
        plain += u.len() + l.len();
        users.extend_from_slice(&u);
        logs.extend_from_slice(&l);
        i += 1;
    }
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, path, data).expect("tar into a Vec");
    };
    let meta = |name: &str| {
        format!(
            r#"{{"indexes":[{{"v":{{"$numberInt":"2"}},"key":{{"_id":{{"$numberInt":"1"}}}},"name":"_id_"}}],"uuid":"{}","collectionName":"{name}","type":"collection"}}"#,
            Rng::new(name.len() as u64).hex(32)
        )
    };
    add("dump/auth0/users.bson", &users);
    add("dump/auth0/users.metadata.json", meta("users").as_bytes());
    add("dump/auth0/logs.bson", &logs);
    add("dump/auth0/logs.metadata.json", meta("logs").as_bytes());
    let tar = tar.into_inner().expect("tar into a Vec");
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
    gz.write_all(&tar).expect("gzip into a Vec");
    let gz = gz.finish().expect("gzip into a Vec");
    (gz, tar.len())
}

fn kdf(c: &mut Criterion) {
    let mut g = c.benchmark_group("kdf");
    // A derivation is a fixed cost per file; reported as derivations per second.
    g.throughput(Throughput::Elements(1));
    g.bench_function("evp_bytes_to_key", |b| {
        b.iter(|| evp_bytes_to_key(black_box(PASSWORD.as_bytes()), None))
    });
    g.bench_function(
        BenchmarkId::new("pbkdf2_sha256", DEFAULT_PBKDF2_ITERATIONS),
        |b| {
            b.iter(|| {
                pbkdf2_sha256(
                    black_box(PASSWORD.as_bytes()),
                    &[1, 2, 3, 4, 5, 6, 7, 8],
                    DEFAULT_PBKDF2_ITERATIONS,
                )
                .expect("non-zero iterations")
            })
        },
    );
    g.finish();
}

fn cipher(c: &mut Criterion) {
    let key = evp_bytes_to_key(PASSWORD.as_bytes(), None);
    let mut g = c.benchmark_group("cipher");
    for (label, size) in [("64KiB", 64 * KIB), ("1MiB", MIB)] {
        let mut buf = Rng::new(1).bytes(size);
        let mut ctr = Cipher::new(&key);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("apply", label), |b| {
            b.iter(|| ctr.apply(black_box(&mut buf)))
        });
    }
    g.finish();
}

fn md5(c: &mut Criterion) {
    let data = Rng::new(2).bytes(MIB);
    let mut g = c.benchmark_group("md5");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("1MiB", |b| {
        b.iter(|| {
            let mut h = Md5::new();
            h.update(black_box(&data));
            h.finish()
        })
    });
    // The `md-5` crate, which checksum::Md5 replaced for speed (see src/checksum/md5.rs).
    g.bench_function("1MiB/md-5 crate", |b| {
        b.iter(|| {
            use md5::Digest;
            md5::Md5::digest(black_box(&data))
        })
    });
    g.finish();
}

fn decrypt_md5(c: &mut Criterion) {
    let plain = Rng::new(3).bytes(16 * MIB);
    let encrypted = node_encrypt(&plain);
    let expected = md5_bytes(&encrypted);
    drop(plain);
    let password = Password::from(PASSWORD);
    let run = |md5: bool| {
        let opts = FileOptions::new()
            .compute_md5(md5)
            .format(Format::Node)
            .input_len(encrypted.len() as u64);
        files::decrypt_stream(black_box(&encrypted[..]), io::sink(), &password, opts)
            .expect("decrypting in memory")
    };
    // Check once that the benchmark measures a correct pipeline.
    assert_eq!(run(true).ciphertext_md5, Some(expected));

    let mut g = c.benchmark_group("decrypt_md5");
    g.throughput(Throughput::Bytes(encrypted.len() as u64));
    g.bench_function("16MiB/md5", |b| b.iter(|| run(true)));
    g.bench_function("16MiB/no_md5", |b| b.iter(|| run(false)));
    g.finish();
}

fn inflate(c: &mut Criterion) {
    let (gz, tar_len) = mongodump_tar_gz(8 * MIB);
    let mut check = Vec::with_capacity(tar_len);
    MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut check)
        .expect("inflating our own gzip");
    assert_eq!(check.len(), tar_len);
    drop(check);
    eprintln!(
        "inflate: {:.1} MiB of gzip -> {:.1} MiB of tar (ratio {:.2}); throughput counts the tar",
        gz.len() as f64 / MIB as f64,
        tar_len as f64 / MIB as f64,
        gz.len() as f64 / tar_len as f64
    );

    let mut g = c.benchmark_group("inflate");
    // The output side, as zlib speeds are usually quoted: multiply by the ratio above for the
    // rate at which the encrypted file is consumed.
    g.throughput(Throughput::Bytes(tar_len as u64));
    g.bench_function("multigz_mongodump", |b| {
        let mut buf = vec![0u8; 256 * KIB];
        b.iter(|| {
            let mut r = MultiGzDecoder::new(black_box(&gz[..]));
            let mut total = 0usize;
            loop {
                let n = r.read(&mut buf).expect("inflating our own gzip");
                if n == 0 {
                    break total;
                }
                total += n;
            }
        })
    });
    g.finish();
}

/// The main job: a `.tar.gz.enc` restored into a fresh directory, md5 checked, decrypted,
/// inflated and unpacked. Throughput in bytes of encrypted input.
fn restore_pipeline(c: &mut Criterion) {
    let (gz, _) = mongodump_tar_gz(8 * MIB);
    let enc = node_encrypt(&gz);
    let md5 = md5_bytes(&enc);
    let mut g = c.benchmark_group("restore_pipeline");
    g.throughput(Throughput::Bytes(enc.len() as u64));
    g.bench_function("tar_gz_enc_to_files", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a scratch directory"),
            |dir| {
                let options = RestoreOptions::new().expected_md5(md5);
                restore_reader(
                    &enc[..],
                    &dir.path().join("out"),
                    Some(&Password::from(PASSWORD)),
                    options,
                )
                .expect("the backup restores");
                dir
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Packing a tree: tar, gzip -6 on every core, Node-format encryption and md5, into a sink.
/// Throughput in bytes of the tree.
fn pack_tree(c: &mut Criterion) {
    let (gz, tar_len) = mongodump_tar_gz(4 * MIB);
    let dir = tempfile::tempdir().expect("a scratch directory");
    restore_reader(&gz[..], &dir.path().join("t"), None, RestoreOptions::new())
        .expect("the tree unpacks");
    let password = Password::from(PASSWORD);
    let mut g = c.benchmark_group("pack");
    g.throughput(Throughput::Bytes(tar_len as u64));
    g.bench_function("tree_to_tar_gz_enc", |b| {
        b.iter(|| {
            pack_writer(
                &dir.path().join("t/dump"),
                io::sink(),
                Some(&password),
                PackOptions::new(),
            )
            .expect("packs")
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = kdf, cipher, md5, decrypt_md5, inflate, restore_pipeline, pack_tree
}
criterion_main!(benches);
