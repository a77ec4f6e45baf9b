//! The full-text index of a mailbox: tantivy over an [`EncryptedDirectory`].
//!
//! The index is derived data. It holds words and ids, never a stored copy of a
//! message: searches return message ids, and the encrypted store answers the rest.

pub(crate) mod schema;
mod verify;
mod window;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use tantivy::collector::{Count, TopDocs};
use tantivy::columnar::Column;
use tantivy::directory::INDEX_WRITER_LOCK;
use tantivy::directory::error::LockError;
use tantivy::{
    Directory, DocAddress, Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher,
    TantivyDocument, Term,
};

use crate::Error;
use crate::crypt_dir::EncryptedDirectory;
use crate::query::{self, Query, Translator};
use schema::Fields;
pub use verify::IndexCheck;

/// Memory the index writer may buffer before it writes a segment. With one indexing
/// thread this keeps a 100k-message import well under 150 MB of resident memory.
const WRITER_MEMORY_BYTES: usize = 50_000_000;

/// What the index knows of one message. Thread ids are not indexed: they change when
/// a late message joins two threads, so they are read from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexDoc {
    /// Store id of the message; the key of the document.
    pub id: u64,
    /// Date, Unix seconds (UTC).
    pub date: i64,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// Message-ID, with or without angle brackets; empty if none.
    pub message_id: String,
    /// Subject.
    pub subject: String,
    /// Body text.
    pub body: String,
    /// Senders, each `Name <addr>` or `addr`.
    pub from: Vec<String>,
    /// Recipients, each `Name <addr>` or `addr`.
    pub to: Vec<String>,
    /// Carbon-copy recipients, each `Name <addr>` or `addr`.
    pub cc: Vec<String>,
    /// Tags, lowercase.
    pub tags: Vec<String>,
    /// Attachment file names and content types.
    pub attachments: Vec<String>,
    /// Whether the message has attachments.
    pub has_attachment: bool,
}

/// The order of search results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Latest date first (ties: higher id first).
    #[default]
    Newest,
    /// Earliest date first (ties: lower id first).
    Oldest,
    /// Best match first (BM25).
    Relevance,
}

/// Which page of results to return, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchOptions {
    /// Result order.
    pub sort: Sort,
    /// Most ids to return.
    pub limit: usize,
    /// Ids to skip first.
    pub offset: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            sort: Sort::Newest,
            limit: 50,
            offset: 0,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchResults {
    /// Number of messages matching, over all pages.
    pub total: usize,
    /// Message ids of this page, in order.
    pub ids: Vec<u64>,
}

/// How [`SearchIndex::open`] found the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// An existing index was opened.
    Opened,
    /// No index existed; an empty one was created. Feed it every message.
    Created,
    /// The existing index was unreadable; it was removed and an empty one created.
    /// Feed it every message.
    Rebuilt {
        /// Why the old index could not be used.
        reason: String,
    },
}

/// The search index of one mailbox.
pub struct SearchIndex {
    directory: EncryptedDirectory,
    index: Index,
    reader: IndexReader,
    /// Created on the first write, so that read-only use never takes the writer lock.
    writer: Option<IndexWriter>,
    /// What the writer did since the last commit.
    pending: Pending,
    fields: Fields,
    index_id: String,
}

impl SearchIndex {
    /// Opens the index in `dir` with the index key, creating it if missing.
    ///
    /// Never fails because the index is missing, damaged, encrypted with another key or
    /// from an incompatible version: it starts an empty one instead and says so in
    /// the [`OpenOutcome`]. Fails for I/O errors (permission denied, disk full), and
    /// with [`Error::Busy`] if it must start a new index while another process writes.
    pub fn open(dir: &Path, key: &[u8; 32]) -> Result<(Self, OpenOutcome), Error> {
        let _span = tracing::info_span!("open_search_index").entered();
        let directory = EncryptedDirectory::open(dir, key)?;
        let exists = Index::exists(&directory).map_err(tantivy::TantivyError::from)?;
        let reason = if !exists {
            // Files without a meta.json we can read: another key's index, or a
            // damaged one. Either way it cannot be used.
            let leftovers = !directory.index_files()?.is_empty();
            leftovers.then(|| "the index has no commit readable with this key".to_string())
        } else {
            match Self::open_existing(directory.clone()) {
                Ok(index) => return Ok((index, OpenOutcome::Opened)),
                Err(e @ (Error::Io(_) | Error::Busy)) => return Err(e),
                Err(e) => Some(e.to_string()),
            }
        };
        let (index, outcome) = match Self::create_fresh(directory)? {
            Fresh::Existing(index) => (index, OpenOutcome::Opened),
            Fresh::New(index) => match reason {
                Some(reason) => {
                    tracing::warn!(%reason, "search index unusable; started a new one");
                    (index, OpenOutcome::Rebuilt { reason })
                }
                None => {
                    tracing::info!("created a new search index");
                    (index, OpenOutcome::Created)
                }
            },
        };
        Ok((index, outcome))
    }

    fn open_existing(directory: EncryptedDirectory) -> Result<Self, Error> {
        let index = Index::open(directory.clone())?;
        let (expected, fields) = schema::build();
        if index.schema() != expected {
            return Err(Error::Corrupt(
                "the index was built with a different schema".into(),
            ));
        }
        let index_id = index
            .load_metas()?
            .payload
            .filter(|id| is_index_id(id))
            .ok_or_else(|| Error::Corrupt("the index has no id: it was never committed".into()))?;
        Self::finish_open(directory, index, fields, index_id)
    }

    /// Removes whatever is in the directory and creates an empty index with a new id,
    /// unless another process made a usable index while this one waited for the lock.
    fn create_fresh(directory: EncryptedDirectory) -> Result<Fresh, Error> {
        let lock = directory
            .acquire_lock(&INDEX_WRITER_LOCK)
            .map_err(|e| match e {
                LockError::LockBusy => Error::Busy,
                LockError::IoError(io) => Error::Io(std::io::Error::new(io.kind(), io.to_string())),
            })?;
        if Index::exists(&directory).map_err(tantivy::TantivyError::from)?
            && let Ok(index) = Self::open_existing(directory.clone())
        {
            return Ok(Fresh::Existing(index));
        }
        let removed = directory.remove_index_files()?;
        if removed > 0 {
            tracing::info!(removed, "removed the files of the old search index");
        }
        let (schema, fields) = schema::build();
        let index = Index::create(directory.clone(), schema, IndexSettings::default())?;
        // The writer takes the lock itself. Should another process win it in between,
        // this fails with Busy and the next open finds an index without an id and
        // starts over.
        drop(lock);
        register_analyzer(&index);
        let index_id = new_index_id()?;
        let mut writer = new_writer(&index)?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&index_id);
        commit.commit()?;
        drop(writer);
        Self::finish_open(directory, index, fields, index_id).map(Fresh::New)
    }

    fn finish_open(
        directory: EncryptedDirectory,
        index: Index,
        fields: Fields,
        index_id: String,
    ) -> Result<Self, Error> {
        register_analyzer(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            directory,
            index,
            reader,
            writer: None,
            pending: Pending::default(),
            fields,
            index_id,
        })
    }

    /// The random id of this index, created with it and kept in every commit, so the
    /// store can tell the index it fed from a new one.
    pub fn index_id(&self) -> &str {
        &self.index_id
    }

    /// The directory holding the index.
    pub fn dir(&self) -> &Path {
        self.directory.root()
    }

    fn writer(&mut self) -> Result<&mut IndexWriter, Error> {
        let writer = match self.writer.take() {
            Some(writer) => writer,
            None => {
                let writer = new_writer(&self.index)?;
                // A process killed during a commit may have left files the
                // last commit does not use (a deletion file among them, whose
                // name the next commit would take again): remove them first.
                writer.garbage_collect_files().wait()?;
                // Now that no other process can commit, see everything committed so
                // far: `upsert` relies on the reader to know which ids are indexed.
                self.reader.reload()?;
                self.pending = Pending::default();
                writer
            }
        };
        Ok(self.writer.insert(writer))
    }

    /// Adds `doc`, replacing any document with the same id. Visible after
    /// [`commit`](Self::commit).
    pub fn upsert(&mut self, doc: &IndexDoc) -> Result<(), Error> {
        let fields = self.fields;
        self.writer()?;
        let id_term = Term::from_field_u64(fields.id, doc.id);
        // Each delete holds about 1 KiB until the commit, so an import of new
        // messages deletes only ids that may really be there.
        let may_exist = self.pending.added.contains(&doc.id)
            || (!self.pending.cleared && self.reader.searcher().doc_freq(&id_term)? > 0);
        let writer = self.writer()?;
        if may_exist {
            writer.delete_term(id_term);
        }
        writer.add_document(schema::document(&fields, doc))?;
        self.pending.added.insert(doc.id);
        Ok(())
    }

    /// Removes the document with `id`, if any. Visible after [`commit`](Self::commit).
    pub fn delete(&mut self, id: u64) -> Result<(), Error> {
        let id_field = self.fields.id;
        self.writer()?
            .delete_term(Term::from_field_u64(id_field, id));
        Ok(())
    }

    /// Rewrites every committed segment that holds deleted documents without
    /// them, and removes the old files: until then a deleted message's words
    /// stay in the segment's files, only marked as deleted. Commit first.
    /// Returns how many segments were rewritten. Costs a rewrite of those
    /// segments: run it after deleting, not for each message.
    pub fn purge_deleted(&mut self) -> Result<usize, Error> {
        let with_deletes: Vec<_> = self
            .index
            .searchable_segment_metas()?
            .into_iter()
            .filter(|m| m.num_deleted_docs() > 0)
            .map(|m| m.id())
            .collect();
        let writer = self.writer()?;
        if !with_deletes.is_empty() {
            writer.merge(&with_deletes).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        self.reader.reload()?;
        Ok(with_deletes.len())
    }

    /// Removes every document, also those added since the last commit (before
    /// feeding them all again). Visible after [`commit`](Self::commit).
    pub fn clear(&mut self) -> Result<(), Error> {
        let writer = self.writer()?;
        writer.rollback()?;
        writer.delete_all_documents()?;
        self.pending = Pending {
            added: HashSet::new(),
            cleared: true,
        };
        Ok(())
    }

    /// Makes every change so far durable and visible to searches. Without pending
    /// changes it only reloads, picking up commits of other processes.
    pub fn commit(&mut self) -> Result<(), Error> {
        let _span = tracing::info_span!("commit_search_index").entered();
        if let Some(writer) = &mut self.writer {
            let committed = writer.prepare_commit().and_then(|mut commit| {
                commit.set_payload(&self.index_id);
                commit.commit()
            });
            if let Err(e) = committed {
                // A writer whose commit failed is in an unknown state: drop it (and
                // the uncommitted changes); the next write starts a new one.
                self.writer = None;
                return Err(e.into());
            }
            self.pending = Pending::default();
        }
        self.reload()
    }

    /// Reloads the searcher to see the latest commit (also one of another process).
    pub fn reload(&mut self) -> Result<(), Error> {
        self.reader.reload()?;
        Ok(())
    }

    /// Runs a query in the search language (see [`parse`](crate::parse)) and returns one page
    /// of message ids.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults, Error> {
        self.search_query(&query::parse(query)?, opts)
    }

    /// Runs a parsed query and returns one page of message ids.
    pub fn search_query(
        &self,
        query: &Query,
        opts: &SearchOptions,
    ) -> Result<SearchResults, Error> {
        self.snapshot().search_query(query, opts)
    }

    /// Number of messages matching a query in the search language.
    pub fn count(&self, query: &str) -> Result<usize, Error> {
        self.snapshot().count(&query::parse(query)?)
    }

    /// Number of messages in the index (as of the last commit or reload).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// A handle that searches the index as committed, from any thread: searches
    /// run on a blocking thread with it, so that a slow query holds no async
    /// worker (the web server has two).
    pub fn snapshot(&self) -> SearchSnapshot {
        SearchSnapshot {
            reader: self.reader.clone(),
            fields: self.fields,
        }
    }
}

/// Searches the committed index; cheap to clone and `Send` (see
/// [`SearchIndex::snapshot`]).
#[derive(Clone)]
pub struct SearchSnapshot {
    reader: IndexReader,
    fields: Fields,
}

impl SearchSnapshot {
    /// Runs a parsed query and returns one page of message ids.
    pub fn search_query(
        &self,
        query: &Query,
        opts: &SearchOptions,
    ) -> Result<SearchResults, Error> {
        let query = self.translate(query);
        let searcher = self.reader.searcher();
        let num_docs = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        // Asking for more than can match would only make the collector allocate.
        let limit = opts.limit.min(num_docs.saturating_sub(opts.offset));
        if limit == 0 {
            let total = searcher.search(query.as_ref(), &Count)?;
            return Ok(SearchResults {
                total,
                ids: Vec::new(),
            });
        }
        let top = TopDocs::with_limit(limit).and_offset(opts.offset);
        let (total, hits): (usize, Vec<DocAddress>) = match opts.sort {
            Sort::Relevance => {
                let (total, hits) =
                    searcher.search(query.as_ref(), &(Count, top.order_by_score()))?;
                (total, hits.into_iter().map(|(_, a)| a).collect())
            }
            Sort::Newest | Sort::Oldest => {
                window::by_date(&searcher, self.fields, query.as_ref(), opts, limit)?
            }
        };
        Ok(SearchResults {
            total,
            ids: self.ids_of(&searcher, &hits)?,
        })
    }

    /// Number of messages matching a parsed query.
    pub fn count(&self, query: &Query) -> Result<usize, Error> {
        Ok(self
            .reader
            .searcher()
            .search(self.translate(query).as_ref(), &Count)?)
    }

    /// A number that changes whenever the committed index changes: counts kept
    /// beside it stay valid while it does not.
    pub fn generation(&self) -> u64 {
        self.reader.searcher().generation().generation_id()
    }

    fn translate(&self, query: &Query) -> Box<dyn tantivy::query::Query> {
        Translator::new(self.fields, schema::analyzer()).translate(query)
    }

    fn ids_of(&self, searcher: &Searcher, hits: &[DocAddress]) -> Result<Vec<u64>, Error> {
        let mut columns: BTreeMap<u32, Column<u64>> = BTreeMap::new();
        let mut ids = Vec::with_capacity(hits.len());
        for hit in hits {
            let column = match columns.get(&hit.segment_ord) {
                Some(column) => column,
                None => {
                    let column = searcher
                        .segment_reader(hit.segment_ord)
                        .fast_fields()
                        .u64("id")?;
                    columns.entry(hit.segment_ord).or_insert(column)
                }
            };
            let id = column
                .first(hit.doc_id)
                .ok_or_else(|| Error::Corrupt("an indexed message has no id".into()))?;
            ids.push(id);
        }
        Ok(ids)
    }
}

/// Changes since the last commit that the committed reader does not show.
#[derive(Default)]
struct Pending {
    /// Ids added: a second upsert of one must delete the first.
    added: HashSet<u64>,
    /// Whether every document was deleted: then the reader's ids are gone.
    cleared: bool,
}

/// What [`SearchIndex::create_fresh`] found under the writer lock.
enum Fresh {
    /// Another process had just made a usable index.
    Existing(SearchIndex),
    /// A new, empty index.
    New(SearchIndex),
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.directory.root())
            .field("index_id", &self.index_id)
            .field("writing", &self.writer.is_some())
            .finish_non_exhaustive()
    }
}

fn register_analyzer(index: &Index) {
    index
        .tokenizers()
        .register(schema::ANALYZER, schema::analyzer());
}

fn new_writer(index: &Index) -> Result<IndexWriter, Error> {
    Ok(index.writer_with_num_threads::<TantivyDocument>(1, WRITER_MEMORY_BYTES)?)
}

fn new_index_id() -> Result<String, Error> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id)
        .map_err(|e| Error::Io(std::io::Error::other(format!("no random numbers: {e}"))))?;
    Ok(hex::encode(id))
}

fn is_index_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
