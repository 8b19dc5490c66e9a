//! The password prompt, on a real terminal: the command runs with a pseudo-terminal as its
//! controlling terminal, standard input and standard error (stdout stays a pipe), and the test
//! types as a person would, waiting for each prompt first.
#![cfg(feature = "cli")]

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the terminal showed so far, and whether the command closed it.
type Screen = Arc<(Mutex<(Vec<u8>, bool)>, Condvar)>;

struct Session {
    child: Child,
    master: File,
    screen: Screen,
}

impl Session {
    fn start(args: &[&str], cwd: &Path) -> Session {
        Session::start_with(args, cwd, None)
    }

    /// With `stdin` given, standard input is a pipe carrying it, and the terminal is only the
    /// controlling terminal and standard error (as in `a0cli ... | a0backup ...`).
    fn start_with(args: &[&str], cwd: &Path, stdin: Option<Vec<u8>>) -> Session {
        Session::spawn(args, cwd, stdin, false, &[])
    }

    /// With standard output on the terminal too, and `env` set.
    fn start_all_on_terminal(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Session {
        Session::spawn(args, cwd, None, true, env)
    }

    fn spawn(
        args: &[&str],
        cwd: &Path,
        stdin: Option<Vec<u8>>,
        stdout_on_terminal: bool,
        env: &[(&str, &str)],
    ) -> Session {
        // Opened by std, so close-on-exec: no other test's command inherits this terminal.
        let master = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/ptmx")
            .expect("a pseudo-terminal");
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: plain calls on a descriptor we own; ptsname_r writes a NUL-terminated name
        // of at most `name.len()` bytes.
        let name = unsafe {
            let fd = master.as_raw_fd();
            assert_eq!(libc::grantpt(fd), 0);
            assert_eq!(libc::unlockpt(fd), 0);
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
            std::ffi::CStr::from_ptr(name.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        let slave: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&name)
            .unwrap()
            .into();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_a0backup"));
        cmd.args(args)
            .current_dir(cwd)
            .stdin(match stdin {
                Some(_) => Stdio::piped(),
                None => Stdio::from(slave.try_clone().unwrap()),
            })
            .stderr(Stdio::from(slave.try_clone().unwrap()))
            .stdout(if stdout_on_terminal {
                Stdio::from(slave.try_clone().unwrap())
            } else {
                Stdio::piped()
            })
            .envs(env.iter().copied());
        // SAFETY: between fork and exec only async-signal-safe calls: a new session, and
        // the terminal on standard error made its controlling terminal (for /dev/tty).
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 || libc::ioctl(2, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("the binary runs");
        drop(slave);
        if let Some(data) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            });
        }
        let screen: Screen = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
        let mut reader = master.try_clone().unwrap();
        let shared = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                // EIO once the command has closed the terminal: the end.
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, cvar) = &*shared;
                let mut s = lock.lock().unwrap();
                if n == 0 {
                    s.1 = true;
                    cvar.notify_all();
                    return;
                }
                s.0.extend_from_slice(&buf[..n]);
                cvar.notify_all();
            }
        });
        Session {
            child,
            master,
            screen,
        }
    }

    /// Waits until `text` has been shown `times` times. The deadline only keeps a broken
    /// command from hanging the suite; nothing is measured.
    fn wait_for(&self, text: &str, times: usize) {
        let (lock, cvar) = &*self.screen;
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut s = lock.lock().unwrap();
        loop {
            if String::from_utf8_lossy(&s.0).matches(text).count() >= times {
                return;
            }
            assert!(
                !s.1 && Instant::now() < deadline,
                "waited for {text:?} x{times}; the terminal showed {:?}",
                String::from_utf8_lossy(&s.0)
            );
            s = cvar.wait_timeout(s, Duration::from_millis(200)).unwrap().0;
        }
    }

    fn type_line(&mut self, line: &str) {
        // The prompt is printed before echo is turned off: a line typed in between would be
        // echoed (a person never types that fast). Wait, boundedly, until the terminal stops
        // echoing; the master shares the terminal's settings.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let mut t = std::mem::MaybeUninit::<libc::termios>::zeroed();
            // SAFETY: tcgetattr fills the termios it is given, on an open pty master.
            let rc = unsafe { libc::tcgetattr(self.master.as_raw_fd(), t.as_mut_ptr()) };
            // SAFETY: initialised by the successful call.
            if rc == 0 && unsafe { t.assume_init() }.c_lflag & libc::ECHO == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\n").unwrap();
    }

    /// The exit code and standard output.
    fn finish(self) -> (Option<i32>, String, String) {
        let out = self.child.wait_with_output().unwrap();
        // The terminal's last words, once the command is gone.
        let (lock, cvar) = &*self.screen;
        let mut s = lock.lock().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !s.1 && Instant::now() < deadline {
            s = cvar.wait_timeout(s, Duration::from_millis(200)).unwrap().0;
        }
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&s.0).into_owned(),
        )
    }
}

fn sample() -> String {
    common::data("sample-backup/backup-retrieve.tar.gz.enc")
        .display()
        .to_string()
}

#[test]
fn list_of_an_encrypted_backup_prompts_at_a_terminal() {
    let work = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), work.path().join("backup.tar.gz.enc")).unwrap();
    let mut s = Session::start(&["list", "backup.tar.gz.enc"], work.path());
    s.wait_for("Password for backup.tar.gz.enc: ", 1);
    s.type_line("Passw0rd");
    let (code, stdout, screen) = s.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(stdout.contains("dump/auth0/users.bson"), "{stdout}");
    assert!(
        !screen.contains("Passw0rd"),
        "the password was echoed: {screen:?}"
    );
}

#[test]
fn an_empty_password_at_the_prompt_is_asked_again_then_refused() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    // Asked again after an empty answer; the second answer restores.
    let mut s = Session::start(&["restore", &sample(), "-C", "r"], d);
    s.wait_for("Password for ", 1);
    s.type_line("");
    s.wait_for("the password is empty", 1);
    s.wait_for("Password for ", 2);
    s.type_line("Passw0rd");
    let (code, _, screen) = s.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(d.join("r/dump/auth0/users.bson").is_file());

    // Three empty answers: a usage error, and nothing written.
    let mut s = Session::start(&["decrypt", &sample(), "-o", "out.tar.gz"], d);
    for i in 1..=3 {
        s.wait_for("Password for ", i);
        s.type_line("");
    }
    let (code, _, screen) = s.finish();
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("3 empty answers at the prompt"), "{screen}");
    assert!(!screen.contains("wrong password"), "{screen}");
    assert!(!d.join("out.tar.gz").exists());
}

#[test]
fn a_password_to_encrypt_with_is_typed_twice() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::write(d.join("plain"), b"bson").unwrap();
    let mut s = Session::start(&["encrypt", "plain", "-o", "plain.enc"], d);
    s.wait_for("Password to encrypt plain with: ", 1);
    s.type_line("one");
    s.wait_for("The same password again: ", 1);
    s.type_line("two");
    let (code, _, screen) = s.finish();
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("the two passwords differ"), "{screen}");
    assert!(!d.join("plain.enc").exists());

    let mut s = Session::start(&["encrypt", "plain", "-o", "plain.enc"], d);
    s.wait_for("Password to encrypt plain with: ", 1);
    s.type_line("s3cret");
    s.wait_for("The same password again: ", 1);
    s.type_line("s3cret");
    let (code, _, screen) = s.finish();
    assert_eq!(code, Some(0), "{screen}");
    let back = Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(["decrypt", "--password", "s3cret", "plain.enc", "-o", "-"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(back.stdout, b"bson");
}

#[test]
fn the_status_piped_in_and_the_password_typed_at_the_terminal() {
    // `a0cli -t NODE backup-status | a0backup restore --status - backup -C dest`, at a terminal.
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let status = std::fs::read(common::data("sample-backup/backup-status.txt")).unwrap();
    let mut s = Session::start_with(
        &["restore", "--status", "-", &sample(), "-C", "r"],
        d,
        Some(status),
    );
    s.wait_for("Password for ", 1);
    s.type_line("Passw0rd");
    let (code, _, screen) = s.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen
            .contains("md5 eccdb928a3bab23f725f955b68ef66ff matches the status on standard input"),
        "{screen}"
    );
    assert!(d.join("r/dump/auth0/users.bson").is_file());
}

#[test]
fn man_on_a_terminal_is_formatted() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    // Without `man` on PATH: plain text, indented as man shows it.
    let s = Session::start_all_on_terminal(
        &["man", "verify"],
        d,
        &[("PATH", "/nonexistent"), ("COLUMNS", "80")],
    );
    let (code, _, screen) = s.finish();
    assert_eq!(code, Some(0), "{screen}");
    let screen = screen.replace("\r\n", "\n");
    assert!(
        screen.starts_with("a0backup-verify(1)\n\nNAME\n"),
        "{screen}"
    );
    assert!(
        screen.contains(
            "\nSYNOPSIS\n       a0backup verify [-q|--quiet] [--json] [--md5 HEX | --status FILE]\n       [-h|--help] FILE\n"
        ),
        "{screen}"
    );
    assert!(
        !screen.contains(".SH") && !screen.contains("\\f"),
        "{screen}"
    );
    // With man (its pager set to cat): man's own formatting.
    if common::have("man") {
        let s = Session::start_all_on_terminal(
            &["man", "verify"],
            d,
            &[("MANPAGER", "cat"), ("PAGER", "cat"), ("MANWIDTH", "80")],
        );
        let (code, _, screen) = s.finish();
        assert_eq!(code, Some(0), "{screen}");
        let screen = plain(&screen);
        assert!(screen.contains("SYNOPSIS"), "{screen}");
        assert!(screen.contains("--md5 HEX"), "{screen}");
        assert!(
            !screen.contains(".SH") && !screen.contains("\\f"),
            "{screen}"
        );
    }
}

/// What a terminal shows, without SGR escapes (bold, underline) or overstriking.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    while chars.next().is_some_and(|c| !c.is_ascii_alphabetic()) {}
                }
            }
            '\x08' => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}
