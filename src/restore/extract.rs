//! The middle of a restore: the plaintext inflated on the calling thread and unpacked on
//! another into a staging directory, with progress reported as the input is read.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

use crate::archive::{note_trailing_zeros, unpack_tar, UnpackOptions, UnpackSummary};
use crate::durable;
use crate::error::Result;
use crate::gzip::{GzipReader, NotGzip};
use crate::pipeline::hand_off;
use crate::progress::Progress;

use super::publish::Staging;
use super::target::Target;

/// Everything one extraction needs besides its input.
pub(super) struct Stage<'s, 'p> {
    pub(super) target: &'s Target,
    pub(super) unpack: &'s UnpackOptions,
    pub(super) progress: &'s mut Progress<'p>,
    pub(super) total: Option<u64>,
    pub(super) count: &'s Rc<Cell<u64>>,
    /// Start writeback of each file as it is closed (the tree is synced before publishing).
    pub(super) sync: bool,
}

impl Stage<'_, '_> {
    /// Inflates `source` on this thread and unpacks it on another into a staging directory
    /// beside the destination. Returns the staging directory, which removes itself if dropped.
    pub(super) fn extract<S: Read>(
        &mut self,
        mut source: S,
        not_gzip: NotGzip,
    ) -> Result<(Staging, UnpackSummary)> {
        // Checked before the staging directory exists: a wrong password creates nothing.
        let mut gz = GzipReader::with(&mut source, &self.unpack.inflate, not_gzip)?;
        let staging = Staging {
            owned: Some(durable::create_dir(
                &self.target.parent,
                self.target.staging_pattern(),
            )?),
        };
        let root = staging.path().to_path_buf();
        let unpack = self.unpack;
        let sync = self.sync;

        let progress = &mut *self.progress;
        let (count, total) = (self.count, self.total);
        let extracted = hand_off(
            &mut gz,
            "a0backup-untar",
            move |reader| {
                crate::writeback::with_writeback(sync, || {
                    unpack_tar(reader, &root, unpack).map(|(summary, _)| summary)
                })
            },
            || progress.report(count.get(), total),
        );
        let mut unpacked = match extracted {
            Ok(u) => u,
            Err(e) => return Err(staging.fail(e)),
        };
        note_trailing_zeros(&mut unpacked, gz.trailing_zeros());
        Ok((staging, unpacked))
    }
}
