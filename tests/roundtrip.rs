//! Property tests: every format round-trips, and every chunking gives the same bytes.

use std::io::{Cursor, Read, Write};

use a0backup::{Cipher, DecryptOptions, DecryptReader, EncryptWriter, Format, Password};
use proptest::prelude::*;

fn format_strategy() -> impl Strategy<Value = Format> {
    prop_oneof![
        Just(Format::Node),
        Just(Format::OpenSslMd5),
        (1u32..50).prop_map(|iterations| Format::OpenSslPbkdf2 { iterations }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decrypt_of_encrypt_is_identity(
        plain in proptest::collection::vec(any::<u8>(), 0..5000),
        password in proptest::collection::vec(any::<u8>(), 0..40),
        format in format_strategy(),
        write_chunk in 1usize..700,
        read_chunk in 1usize..700,
    ) {
        let pw = Password::new(password);
        let mut w = EncryptWriter::new(Vec::new(), &pw, format).unwrap();
        for piece in plain.chunks(write_chunk) {
            w.write_all(piece).unwrap();
        }
        let file = w.finish().unwrap();
        prop_assert_eq!(file.len(), plain.len() + if format.is_salted() { 16 } else { 0 });

        let opts = DecryptOptions::new().format(format);
        let mut r = DecryptReader::new(Cursor::new(&file), &pw, opts).unwrap();
        let mut back = Vec::new();
        let mut buf = vec![0u8; read_chunk];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 { break; }
            back.extend_from_slice(&buf[..n]);
        }
        prop_assert_eq!(back, plain);
    }

    #[test]
    fn in_place_chunking_never_changes_the_output(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        key in any::<[u8; 32]>(),
        iv in any::<[u8; 16]>(),
    ) {
        let k = a0backup::KeyIv::new(key, iv);
        let mut whole = data.clone();
        Cipher::new(&k).apply(&mut whole);

        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        let mut pieces = data.clone();
        let mut c = Cipher::new(&k);
        for w in points.windows(2) {
            c.apply(&mut pieces[w[0]..w[1]]);
        }
        prop_assert_eq!(pieces, whole);
    }

    #[test]
    fn status_records_round_trip(
        name in proptest::option::of("[ -~]{0,30}"),
        message in proptest::option::of("[ -~]{0,30}"),
        md5 in any::<[u8; 16]>(),
    ) {
        let s = a0backup::BackupStatus { message, name, md5: a0backup::Md5Digest(md5) };
        prop_assert_eq!(a0backup::BackupStatus::parse(&s.to_json()).unwrap(), s);
    }
}
