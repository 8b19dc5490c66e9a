#![no_main]

//! See `a0backup_fuzz::checks::dump` for the properties checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(failure) = a0backup_fuzz::checks::dump(data) {
        panic!("dump: {failure}");
    }
});
