//! The progress bar on stderr.

use std::io::{self, IsTerminal};

use a0backup::Progress;

use crate::signals;

/// A progress bar on stderr when it is a terminal, and the library callback that drives it.
pub struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    pub fn new(quiet: bool, total: Option<u64>) -> Bar {
        if quiet || !io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("a valid template"),
        );
        Bar { bar: Some(bar) }
    }

    /// The callback: moves the bar, and cancels once a signal came (see [`signals`]).
    pub fn progress(&self) -> Progress<'_> {
        Progress::new(move |done, _| {
            if let Some(b) = &self.bar {
                b.set_position(done);
            }
            signals::received().is_none()
        })
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
