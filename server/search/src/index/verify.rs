//! The index's part of `homepost check`: every file of the committed index read
//! and authenticated chunk by chunk, and the id of every live document, for the
//! caller to compare with the store.

use std::path::{Path, PathBuf};

use tantivy::Directory;
use tantivy::index::SegmentComponent;

use super::SearchIndex;
use crate::CHUNK_SIZE;

/// Chunks read (and authenticated) per read while checking a file.
const CHUNKS_PER_READ: usize = 64;

/// What [`SearchIndex::verify`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexCheck {
    /// Files of the committed index that are missing, truncated or fail
    /// authentication, each with what is wrong. Names are tantivy's (a segment's
    /// id and part), which say nothing of the mail.
    pub files: Vec<String>,
    /// Files read in full.
    pub files_checked: u64,
    /// Plaintext bytes read and authenticated.
    pub bytes_checked: u64,
    /// The store id of every live document, sorted; an id listed twice is
    /// indexed twice. Empty when a damaged file kept the ids from being read.
    pub ids: Vec<u64>,
}

impl IndexCheck {
    /// Whether every file read back whole and authentic.
    pub fn files_sound(&self) -> bool {
        self.files.is_empty()
    }
}

impl SearchIndex {
    /// Reads every file of the latest commit in full, authenticating every chunk,
    /// then lists the id of every live document. `progress` gets (files checked,
    /// files in all). Damage is reported in the answer, never returned as an
    /// error; nothing is changed.
    pub fn verify(&self, mut progress: impl FnMut(u64, u64)) -> IndexCheck {
        let mut report = IndexCheck::default();
        let metas = match self.index.searchable_segment_metas() {
            Ok(metas) => metas,
            Err(e) => {
                report.files.push(format!("meta.json: {e}"));
                return report;
            }
        };
        let mut files: Vec<PathBuf> = vec![PathBuf::from("meta.json")];
        for meta in &metas {
            let mut parts = vec![
                SegmentComponent::Postings,
                SegmentComponent::Positions,
                SegmentComponent::FastFields,
                SegmentComponent::FieldNorms,
                SegmentComponent::Terms,
                SegmentComponent::Store,
            ];
            if meta.num_deleted_docs() > 0 {
                parts.push(SegmentComponent::Delete);
            }
            files.extend(parts.into_iter().map(|part| meta.relative_path(part)));
        }
        let all = files.len() as u64;
        for path in &files {
            match self.read_whole(path) {
                Ok(bytes) => report.bytes_checked += bytes,
                Err(e) => report.files.push(format!("{}: {e}", path.display())),
            }
            report.files_checked += 1;
            progress(report.files_checked, all);
        }
        if report.files_sound() {
            match self.live_ids() {
                Ok(ids) => report.ids = ids,
                Err(e) => report.files.push(format!("the documents' ids: {e}")),
            }
        }
        report
    }

    /// Reads one file through the encrypting directory, in runs of chunks, so
    /// that every chunk is authenticated; returns its plaintext length.
    fn read_whole(&self, path: &Path) -> Result<u64, String> {
        let handle = self
            .directory
            .get_file_handle(path)
            .map_err(|e| e.to_string())?;
        let len = handle.len();
        let step = CHUNKS_PER_READ * CHUNK_SIZE;
        let mut at = 0;
        while at < len {
            let end = (at + step).min(len);
            handle.read_bytes(at..end).map_err(|e| e.to_string())?;
            at = end;
        }
        Ok(len as u64)
    }

    /// The id of every live document of the latest commit, sorted.
    fn live_ids(&self) -> Result<Vec<u64>, crate::Error> {
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        let mut ids = Vec::with_capacity(usize::try_from(searcher.num_docs()).unwrap_or(0));
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64("id")?;
            for doc in segment.doc_ids_alive() {
                let id = column
                    .first(doc)
                    .ok_or_else(|| crate::Error::Corrupt("an indexed message has no id".into()))?;
                ids.push(id);
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }
}
