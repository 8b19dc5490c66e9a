//! Where the password comes from: a file, the environment, the command line or a prompt.

use std::ffi::OsString;
use std::io::{self, IsTerminal};
use std::path::PathBuf;

use a0backup::Password;
use clap::Args;

use crate::failure::{io_failure, usage, Failure};

/// Where the password comes from. Without any of these, it is asked for on the terminal.
#[derive(Args, Debug, Default)]
#[group(multiple = false)]
pub struct PasswordArgs {
    /// Read the password from the first line of FILE (its newline stripped).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the password from the environment variable VAR.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<OsString>,
    /// The password itself. Visible to other users of this machine (ps, /proc): prefer
    /// --password-file or --password-env.
    #[arg(long, value_name = "P")]
    pub password: Option<OsString>,
}

/// Like [`PasswordArgs`], but without a password nothing is encrypted (no prompt).
#[derive(Args, Debug, Default)]
#[group(multiple = false)]
pub struct OptionalPasswordArgs {
    /// Encrypt, with the password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Encrypt, with the password from the environment variable VAR.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<OsString>,
    /// Encrypt, with this password (visible to other users: prefer the two above).
    #[arg(long, value_name = "P")]
    pub password: Option<OsString>,
}

impl OptionalPasswordArgs {
    pub fn read(&self, latin1: bool) -> Result<Option<Password>, Failure> {
        if self.password_file.is_none() && self.password_env.is_none() && self.password.is_none() {
            return Ok(None);
        }
        PasswordArgs {
            password_file: self.password_file.clone(),
            password_env: self.password_env.clone(),
            password: self.password.clone(),
        }
        .read(latin1)
        .map(Some)
    }
}

impl PasswordArgs {
    pub fn read(&self, latin1: bool) -> Result<Password, Failure> {
        let bytes: Vec<u8> = if let Some(path) = &self.password_file {
            let mut all = std::fs::read(path).map_err(|e| io_failure(path, e))?;
            let end = all.iter().position(|&b| b == b'\n').unwrap_or(all.len());
            all.truncate(end);
            if all.last() == Some(&b'\r') {
                all.pop();
            }
            all
        } else if let Some(var) = &self.password_env {
            std::env::var_os(var)
                .ok_or_else(|| {
                    usage(format!(
                        "environment variable {} is not set",
                        var.to_string_lossy()
                    ))
                })?
                .into_encoded_bytes()
        } else if let Some(p) = &self.password {
            p.clone().into_encoded_bytes()
        } else if io::stdin().is_terminal() {
            rpassword::prompt_password("Password: ")
                .map_err(|e| usage(format!("cannot read the password: {e}")))?
                .into_bytes()
        } else {
            return Err(usage(
                "no password: give --password-file, --password-env or --password (stdin is not a terminal)",
            ));
        };
        if latin1 {
            let s = String::from_utf8(bytes)
                .map_err(|_| usage("--latin1-password needs a UTF-8 password to re-encode"))?;
            Ok(Password::from_latin1(&s))
        } else {
            Ok(Password::new(bytes))
        }
    }
}
