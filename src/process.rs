//! What the process is set up with: its file-creation mask.

use std::fs;

/// The process's umask, read without changing it where the system tells it (Linux 4.7+).
pub(crate) fn umask() -> u32 {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if let Some(v) = line.strip_prefix("Umask:") {
                if let Ok(m) = u32::from_str_radix(v.trim(), 8) {
                    return m & 0o777;
                }
            }
        }
    }
    // Elsewhere the only way is to set it and put it back; another thread creating a file in
    // between would get 022 for a moment.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    rustix::process::umask(old);
    old.as_raw_mode() as u32 & 0o777
}

#[cfg(test)]
mod tests {
    #[test]
    fn umask_is_read() {
        let m = super::umask();
        assert_eq!(m & !0o777, 0);
    }
}
