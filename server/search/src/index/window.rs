//! Newest (or oldest) first without sorting every hit: a page of a search that
//! matches most of a large mailbox (`in:inbox`, `*`) is taken from the most
//! recent stretch of time that holds enough hits, widened until it does.
//!
//! Sorting by date costs a look at the date and id of every matching document;
//! at 10^6 messages that is most of a request's time. The hits in a window
//! `date >= t` that holds at least `offset + limit` of them are exactly the
//! first hits of the whole search, because every hit outside it is older than
//! every hit inside: the page is the same, only cheaper.

use std::ops::Bound;

use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::{DocAddress, Order, Searcher, Term};

use super::schema::Fields;
use super::{SearchOptions, Sort};
use crate::Error;

/// Searches with fewer hits than this are sorted whole: a window would save
/// little.
const MIN_HITS: usize = 20_000;
/// The first window is sized to hold about this many times the hits needed,
/// were the hits spread evenly over time.
const MARGIN: f64 = 4.0;
/// Each window that holds too few hits is followed by one this many times wider.
const GROWTH: f64 = 8.0;
/// Windows tried before sorting every hit (a search whose hits are mostly old).
const TRIES: usize = 3;
/// Documents whose dates are read to place the windows.
const SAMPLES: u64 = 2_048;

/// The total number of hits of `query` and the addresses of page `opts`
/// (`limit` hits), by date then id, newest or oldest first.
pub(super) fn by_date(
    searcher: &Searcher,
    fields: Fields,
    query: &dyn Query,
    opts: &SearchOptions,
    limit: usize,
) -> Result<(usize, Vec<DocAddress>), Error> {
    let (total, hits, _) = by_date_from(searcher, fields, query, opts, limit, MIN_HITS)?;
    Ok((total, hits))
}

/// [`by_date`], trying windows when there are at least `min_hits` hits; also
/// says whether a window answered.
fn by_date_from(
    searcher: &Searcher,
    fields: Fields,
    query: &dyn Query,
    opts: &SearchOptions,
    limit: usize,
    min_hits: usize,
) -> Result<(usize, Vec<DocAddress>, bool), Error> {
    let newest = opts.sort != Sort::Oldest;
    let order = if newest { Order::Desc } else { Order::Asc };
    let by_date_then_id = (
        (SortByStaticFastValue::<i64>::for_field("date"), order),
        (SortByStaticFastValue::<u64>::for_field("id"), order),
    );
    let top = || TopDocs::with_limit(limit).and_offset(opts.offset);
    let need = opts.offset + limit;
    let total = searcher.search(query, &Count)?;
    if total >= min_hits {
        let dates = sampled_dates(searcher)?;
        let mut share = need as f64 * MARGIN / total as f64;
        for _ in 0..TRIES {
            if share >= 1.0 || dates.is_empty() {
                break;
            }
            // The date that many of the sampled documents are newer (older)
            // than: a window of about `share` of the mailbox, wherever most
            // of the mail sits in time and whatever a few stray dates say.
            let k = ((dates.len() as f64 * share).ceil() as usize).clamp(1, dates.len());
            let range = if newest {
                let from = dates[dates.len() - k];
                RangeQuery::new(
                    Bound::Included(Term::from_field_i64(fields.date, from)),
                    Bound::Unbounded,
                )
            } else {
                let until = dates[k - 1];
                RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_i64(fields.date, until)),
                )
            };
            let windowed = BooleanQuery::new(vec![
                (Occur::Must, query.box_clone()),
                (Occur::Must, Box::new(range)),
            ]);
            let (inside, hits) =
                searcher.search(&windowed, &(Count, top().order_by(by_date_then_id.clone())))?;
            if inside >= need {
                return Ok((total, hits.into_iter().map(|(_, a)| a).collect(), true));
            }
            share *= GROWTH;
        }
    }
    let hits = searcher.search(query, &top().order_by(by_date_then_id))?;
    Ok((total, hits.into_iter().map(|(_, a)| a).collect(), false))
}

/// The dates of about [`SAMPLES`] documents spread evenly over the index,
/// sorted: where the mail sits in time.
fn sampled_dates(searcher: &Searcher) -> Result<Vec<i64>, Error> {
    let all: u64 = searcher
        .segment_readers()
        .iter()
        .map(|s| u64::from(s.max_doc()))
        .sum();
    let step = (all / SAMPLES).max(1);
    let mut dates = Vec::with_capacity(usize::try_from(all.min(SAMPLES * 2)).unwrap_or(0));
    for segment in searcher.segment_readers() {
        let column = segment.fast_fields().i64("date")?;
        let mut doc = 0u64;
        while doc < u64::from(segment.max_doc()) {
            let id = u32::try_from(doc).unwrap_or(u32::MAX);
            if !segment.is_deleted(id)
                && let Some(date) = column.first(id)
            {
                dates.push(date);
            }
            doc += step;
        }
    }
    dates.sort_unstable();
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{IndexDoc, SearchIndex};
    use crate::query::parse;

    /// 3,000 messages over ten years, some sharing a second, one dated 1970
    /// and one 2100; the windowed page equals the fully sorted one everywhere.
    #[test]
    fn a_window_gives_the_same_page_as_sorting_every_hit() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut index, _) = SearchIndex::open(tmp.path(), &[7; 32]).unwrap();
        let start = 1_420_070_400; // 2015
        for id in 1..=3_000u64 {
            let date = match id {
                1 => 0,
                2 => 4_102_444_800,
                // Pairs share a second; the order drifts from the id's.
                _ => start + ((id / 2) * 104_729 % 315_360_000) as i64,
            };
            let mut tags = vec!["inbox".to_owned()];
            if id % 97 == 0 {
                tags = vec!["rare".to_owned()];
            }
            let doc = IndexDoc {
                id,
                date,
                subject: format!("message {id}"),
                tags,
                ..IndexDoc::default()
            };
            index.upsert(&doc).unwrap();
            if id % 1_000 == 0 {
                index.commit().unwrap(); // several segments
            }
        }
        index.commit().unwrap();
        let snap = index.snapshot();
        let searcher = snap.reader.searcher();
        let mut windowed = 0;
        for text in ["*", "in:inbox", "in:rare", "message"] {
            let query = snap.translate(&parse(text).unwrap());
            for sort in [Sort::Newest, Sort::Oldest] {
                for (offset, limit) in [
                    (0, 1),
                    (0, 50),
                    (7, 50),
                    (100, 50),
                    (2_900, 50),
                    (2_990, 50),
                ] {
                    let opts = SearchOptions {
                        sort,
                        limit,
                        offset,
                    };
                    let run = |min| {
                        let (total, hits, used) =
                            by_date_from(&searcher, snap.fields, query.as_ref(), &opts, limit, min)
                                .unwrap();
                        (total, snap.ids_of(&searcher, &hits).unwrap(), used)
                    };
                    let (total, ids, used) = run(0);
                    let (all_total, all_ids, _) = run(usize::MAX);
                    assert_eq!(
                        (total, &ids),
                        (all_total, &all_ids),
                        "{text} {sort:?} {offset}"
                    );
                    windowed += usize::from(used);
                }
            }
        }
        assert!(windowed >= 16, "windows answered {windowed} pages");
    }
}
