//! SIGINT, SIGTERM and SIGHUP, turned into the library's cancel: the operation stops at its
//! next progress report and removes its staging directory or temporary file, and the command
//! exits with 128 + the signal's number (130, 143, 129). A second signal ends the process at
//! once (the next run on the same destination removes what it left). A signal that was
//! ignored when the command started (`nohup`) stays ignored.
//!
//! The handlers restart an interrupted system call (SA_RESTART), so a read or an open that
//! blocks would not see the signal: where the command can wait for ever (a pipe, a FIFO, a
//! terminal, a standard output nobody reads), it waits in poll(2) with a short timeout instead
//! and looks at [`received`] between two (see `crate::io`). Before [`install`], a signal has
//! its default action: it ends the process, which has made nothing yet.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static RECEIVED: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);

/// Whether `sig` is ignored (SIG_IGN), as `nohup` leaves SIGHUP.
fn ignored(sig: libc::c_int) -> bool {
    // SAFETY: with a null new action, sigaction only writes the current one into `old`,
    // a zeroed plain C struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Installs the handlers. Call once the command has what it needs from the terminal (a
/// Ctrl-C at the password prompt still ends the process at once).
pub fn install() {
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        if ignored(sig) {
            continue;
        }
        // The order matters: the second signal finds ARMED set by the first.
        let _ = signal_hook::flag::register_conditional_default(sig, &ARMED);
        let _ = signal_hook::flag::register_usize(sig, &RECEIVED, sig as usize);
        let _ = signal_hook::flag::register(sig, &ARMED);
    }
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n as i32),
    }
}

pub fn name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}
