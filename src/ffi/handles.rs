//! The in-memory primitives: the library version, Node's key derivation, and the `a0b_cipher`
//! and `a0b_md5` handles.

use std::ffi::c_char;

use super::boundary::{
    array_arg, bytes_arg, bytes_arg_mut, free_handle, handle_mut, into_handle, password_arg,
    HexOut, Out,
};
use super::*;
use crate::checksum::Md5;
use crate::cipher::Cipher;
use crate::kdf::{Format, KeyIv};

/// An AES-256-CTR keystream with its position. Not safe for concurrent use from two threads;
/// may be moved between threads.
#[derive(Debug)]
pub struct a0b_cipher {
    inner: Cipher,
}

/// An incremental MD5. Not safe for concurrent use from two threads; may be moved between
/// threads.
#[derive(Debug)]
pub struct a0b_md5 {
    inner: Md5,
}

/// The library version, as a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn a0b_version() -> *const c_char {
    ffi_boundary! {
        Ok(concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char)
    }
}

/// Derives the key and IV of Node's `createCipher` (EVP_BytesToKey, MD5, one round, no salt).
///
/// # Safety
/// `password` points to `password_len` bytes; `key_out` to 32 and `iv_out` to 16 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_derive_key_iv(
    password: *const u8,
    password_len: usize,
    key_out: *mut u8,
    iv_out: *mut u8,
) -> a0b_result {
    ffi_boundary! {
        let pw = unsafe { password_arg(password, password_len) }?;
        let key_out = unsafe { Out::new(key_out as *mut [u8; 32], "key_out") }?;
        let iv_out = unsafe { Out::new(iv_out as *mut [u8; 16], "iv_out") }?;
        let k = Format::Node.derive(&pw, None)?;
        key_out.copy_from(k.key());
        iv_out.copy_from(k.iv());
        Ok(())
    }
}

/// A cipher keyed from a password as Node's `createCipher` does, at offset 0.
///
/// # Safety
/// `password` points to `password_len` bytes; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_new(
    password: *const u8,
    password_len: usize,
    out: *mut *mut a0b_cipher,
) -> a0b_result {
    ffi_boundary! {
        let pw = unsafe { password_arg(password, password_len) }?;
        let out = unsafe { Out::new(out, "out") }?;
        let inner = Cipher::new(&Format::Node.derive(&pw, None)?);
        out.set(into_handle(a0b_cipher { inner }));
        Ok(())
    }
}

/// A cipher from a raw 32-byte key and 16-byte IV, at offset 0.
///
/// # Safety
/// `key` points to 32 bytes, `iv` to 16; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_new_key_iv(
    key: *const u8,
    iv: *const u8,
    out: *mut *mut a0b_cipher,
) -> a0b_result {
    ffi_boundary! {
        let key = unsafe { array_arg::<32>(key, "key") }?;
        let iv = unsafe { array_arg::<16>(iv, "iv") }?;
        let out = unsafe { Out::new(out, "out") }?;
        let inner = Cipher::new(&KeyIv::new(key, iv));
        out.set(into_handle(a0b_cipher { inner }));
        Ok(())
    }
}

/// Encrypts or decrypts (the same operation) `len` bytes of `buf` in place, advancing the
/// position. `buf` may be NULL when `len` is 0.
///
/// # Safety
/// `cipher` is a live handle; `buf` points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_apply(
    cipher: *mut a0b_cipher,
    buf: *mut u8,
    len: usize,
) -> a0b_result {
    ffi_boundary! {
        let c = unsafe { handle_mut(cipher, "cipher") }?;
        c.inner.apply(unsafe { bytes_arg_mut(buf, len, "buf") }?);
        Ok(())
    }
}

/// Moves the keystream to `byte_offset`.
///
/// # Safety
/// `cipher` is a live handle or NULL.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_seek(cipher: *mut a0b_cipher, byte_offset: u64) -> a0b_result {
    ffi_boundary! {
        unsafe { handle_mut(cipher, "cipher") }?.inner.seek(byte_offset);
        Ok(())
    }
}

/// Frees a cipher (its key schedule is zeroized). NULL is a no-op.
///
/// # Safety
/// `cipher` is NULL or a handle from `a0b_cipher_new*` not freed before.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_free(cipher: *mut a0b_cipher) {
    ffi_boundary! {
        unsafe { free_handle(cipher) };
        Ok(())
    }
}

/// A new, empty MD5.
///
/// # Safety
/// `out` points to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_new(out: *mut *mut a0b_md5) -> a0b_result {
    ffi_boundary! {
        unsafe { Out::new(out, "out") }?.set(into_handle(a0b_md5 { inner: Md5::new() }));
        Ok(())
    }
}

/// Hashes `len` more bytes. `data` may be NULL when `len` is 0.
///
/// # Safety
/// `md5` is a live handle; `data` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_update(
    md5: *mut a0b_md5,
    data: *const u8,
    len: usize,
) -> a0b_result {
    ffi_boundary! {
        let h = unsafe { handle_mut(md5, "md5") }?;
        h.inner.update(unsafe { bytes_arg(data, len, "data") }?);
        Ok(())
    }
}

/// Writes the digest as 32 lowercase hex digits and a NUL, and starts the hash over (the
/// handle stays valid).
///
/// # Safety
/// `md5` is a live handle; `hex_out` points to 33 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_finish(md5: *mut a0b_md5, hex_out: *mut c_char) -> a0b_result {
    ffi_boundary! {
        let h = unsafe { handle_mut(md5, "md5") }?;
        let hex_out = unsafe { HexOut::required(hex_out, "hex_out") }?;
        hex_out.set(&h.inner.finish_reset());
        Ok(())
    }
}

/// Frees an MD5. NULL is a no-op.
///
/// # Safety
/// `md5` is NULL or a handle from `a0b_md5_new` not freed before.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_free(md5: *mut a0b_md5) {
    ffi_boundary! {
        unsafe { free_handle(md5) };
        Ok(())
    }
}
