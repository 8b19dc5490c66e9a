#![no_main]

//! See `a0backup_fuzz::checks::md5` for the input layout and the properties checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(failure) = a0backup_fuzz::checks::md5(data) {
        panic!("md5: {failure}");
    }
});
