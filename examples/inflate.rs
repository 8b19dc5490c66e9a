//! Inflates a `.tar.gz` (or any gzip file) to nowhere and says how fast: the figures behind
//! BENCHMARKS.md "Parallel inflate".
//!
//! ```text
//! cargo run --release --example inflate -- FILE [THREADS [CHUNK_BYTES]]
//! ```
//!
//! Without THREADS, the sequential zlib-rs path; with THREADS (0 = one per core), the
//! parallel inflater. Prints wall and CPU seconds and output MiB/s.

use std::io::Read;
use std::time::Instant;

use a0backup::gzip::{GzipReader, InflateOptions};

fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    #[allow(unsafe_code)]
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: inflate FILE [THREADS [CHUNK_BYTES]]")?;
    let mut options = InflateOptions::new();
    let mut threads = None;
    if let Some(t) = args.next() {
        let t: usize = t.parse()?;
        options = options.threads(t);
        threads = Some(t);
    }
    if let Some(c) = args.next() {
        options = options.chunk_size(c.parse()?);
    }
    let file = std::fs::File::open(&path)?;
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let mut r = GzipReader::new(file, options)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "{}: {:.1} MiB out in {wall:.2} s wall, {cpu:.2} s CPU: {:.0} MiB/s",
        match threads {
            None => "sequential (zlib-rs)".to_string(),
            Some(t) => format!("parallel, {t} threads"),
        },
        total as f64 / (1 << 20) as f64,
        total as f64 / (1 << 20) as f64 / wall
    );
    println!("{r:?}");
    Ok(())
}
