//! Progress reports and cancellation for long operations.

use crate::error::{Error, Result};

type Callback<'a> = Box<dyn FnMut(u64, Option<u64>) -> bool + 'a>;

/// A progress callback: called with the bytes done and, when known, the total. Returning
/// `false` cancels the operation, which then fails with [`Error::Cancelled`] and leaves nothing
/// behind.
///
/// # Examples
///
/// ```
/// use a0backup::Progress;
/// let mut seen = 0;
/// let mut p = Progress::new(|done, _total| { seen = done; true });
/// assert!(p.is_set());
/// drop(p);
/// assert!(!Progress::none().is_set());
/// ```
///
/// Returning `false` stops the operation:
///
/// ```
/// use a0backup::{files, Error, Password, Progress};
/// let mut calls = 0;
/// let options = files::FileOptions::new().progress(Progress::new(|_, _| {
///     calls += 1;
///     false
/// }));
/// let input = vec![0u8; 4 << 20];
/// let r = files::encrypt_stream(&input[..], Vec::new(), &Password::from("p"), options);
/// assert!(matches!(r, Err(Error::Cancelled)));
/// assert_eq!(calls, 1);
/// ```
#[derive(Default)]
pub struct Progress<'a> {
    callback: Option<Callback<'a>>,
}

impl<'a> Progress<'a> {
    /// No reports.
    pub fn none() -> Progress<'a> {
        Progress { callback: None }
    }

    /// Reports to `callback`.
    pub fn new(callback: impl FnMut(u64, Option<u64>) -> bool + 'a) -> Progress<'a> {
        Progress {
            callback: Some(Box::new(callback)),
        }
    }

    /// Whether a callback is set.
    pub fn is_set(&self) -> bool {
        self.callback.is_some()
    }

    pub(crate) fn report(&mut self, done: u64, total: Option<u64>) -> Result<()> {
        let keep_going = match &mut self.callback {
            Some(cb) => cb(done, total),
            None => true,
        };
        if keep_going {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("set", &self.is_set())
            .finish()
    }
}
