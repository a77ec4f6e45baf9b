//! What the mail history says about a correspondent.

use crate::Result;

/// Messages from a sender, not counting spam, after which the sender counts as
/// known even if the user never replied.
const KNOWN_AFTER: i64 = 3;

/// The statements that look for a tagged message with the address in `$fields`.
macro_rules! tagged_walks {
    ($fields:literal) => {
        TaggedWalks {
            // How many of the address's rows there are, up to ?2.
            count: concat!(
                "SELECT count(*) FROM (SELECT 1 FROM addresses a
                   WHERE a.address = ?1 COLLATE NOCASE AND a.field IN (",
                $fields,
                ") LIMIT ?2)"
            ),
            // The address's rows, each checked for tag ?3.
            by_address: concat!(
                "SELECT EXISTS (SELECT 1 FROM addresses a
                   WHERE a.address = ?1 COLLATE NOCASE AND a.field IN (",
                $fields,
                ") AND a.message <> ?2
                     AND EXISTS (SELECT 1 FROM message_tags mt
                                  WHERE mt.message = a.message AND mt.tag = ?3))"
            ),
            // The messages tagged ?3, each checked for the address (the unary
            // `+` keeps SQLite from walking the address index instead).
            by_tag: concat!(
                "SELECT EXISTS (SELECT 1 FROM message_tags mt INDEXED BY message_tags_tag
                   JOIN addresses a ON a.message = mt.message AND a.field IN (",
                $fields,
                ") WHERE mt.tag = ?3 AND mt.message <> ?2 AND +a.address = ?1 COLLATE NOCASE)"
            ),
        }
    };
}

struct TaggedWalks {
    count: &'static str,
    by_address: &'static str,
    by_tag: &'static str,
}

/// A reply to a message from the address; a message sent to it.
const REPLIED: TaggedWalks = tagged_walks!("'from'");
const SENT: TaggedWalks = tagged_walks!("'to', 'cc', 'bcc'");

impl crate::Store {
    /// Whether `address` is a known correspondent, as seen from message `message`:
    /// the user replied to them, wrote to them (a message tagged `sent`), or has
    /// kept at least three other messages from them that are not spam. Case is
    /// ignored.
    ///
    /// Its cost is bounded by the shorter of each pair of lists it could walk (the
    /// address's messages or the user's replies and sent mail), not by how much
    /// mail the address has: at 10^6 messages a frequent sender has tens of
    /// thousands, and the message view asks this for every message opened.
    pub async fn is_known_correspondent(&self, address: &str, message: i64) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        // Repeat mail settles most senders, at the KNOWN_AFTER-th message found.
        let repeat: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (
                 SELECT DISTINCT a.message FROM addresses a
                  WHERE a.address = ?1 COLLATE NOCASE AND a.field = 'from' AND a.message <> ?2
                    AND NOT EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                                     WHERE mt.message = a.message AND t.name = 'spam')
                  LIMIT ?3)",
        )
        .bind(address)
        .bind(message)
        .bind(KNOWN_AFTER)
        .fetch_one(&mut *conn)
        .await?;
        if repeat >= KNOWN_AFTER {
            return Ok(true);
        }
        // A reply to a message from them, or a message sent to them.
        for (tag, walks) in [("replied", REPLIED), ("sent", SENT)] {
            let Some((tag, tagged)) = sqlx::query_as::<_, (i64, i64)>(
                "SELECT t.id, coalesce(c.total, 0) FROM tags t
                   LEFT JOIN tag_counts c ON c.tag = t.id WHERE t.name = ?",
            )
            .bind(tag)
            .fetch_optional(&mut *conn)
            .await?
            else {
                continue;
            };
            if tagged == 0 {
                continue;
            }
            // Enough of the address's rows to tell which list is shorter.
            let rows: i64 = sqlx::query_scalar(walks.count)
                .bind(address)
                .bind(tagged + 1)
                .fetch_one(&mut *conn)
                .await?;
            if rows == 0 {
                continue;
            }
            let walk = if rows <= tagged {
                walks.by_address
            } else {
                walks.by_tag
            };
            let found: i64 = sqlx::query_scalar(walk)
                .bind(address)
                .bind(message)
                .bind(tag)
                .fetch_one(&mut *conn)
                .await?;
            if found != 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the user reads the mailing list `list_id`: at least three of its
    /// messages are read and not spam.
    pub async fn is_read_list(&self, list_id: &str) -> Result<bool> {
        let read: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (
                 SELECT 1 FROM message_lists l
                 WHERE l.list_id = ?1
                   AND EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                               WHERE mt.message = l.message AND t.name = 'read')
                   AND NOT EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                                   WHERE mt.message = l.message AND t.name = 'spam')
                 LIMIT ?2)",
        )
        .bind(list_id)
        .bind(KNOWN_AFTER)
        .fetch_one(&self.pool)
        .await?;
        Ok(read >= KNOWN_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::tests::{id, insert, open_store};

    use super::*;

    fn message(from: &str, to: &str, mid: &str) -> Vec<u8> {
        format!("From: {from}\r\nTo: {to}\r\nSubject: s\r\nMessage-ID: <{mid}>\r\n\r\nx\r\n")
            .into_bytes()
    }

    async fn known(store: &Store, address: &str, message: i64) -> bool {
        store
            .is_known_correspondent(address, message)
            .await
            .unwrap()
    }

    /// Either list may be the shorter one: the address's mail or the tagged
    /// messages. Both walks find a reply or sent mail, and neither finds one
    /// that is not there.
    #[tokio::test]
    async fn replies_and_sent_mail_are_found_walking_either_list() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let mut busy = Vec::new();
        for i in 0..6 {
            busy.push(id(insert(
                &store,
                &message("busy@example.net", "me@example.org", &format!("b{i}@x")),
            )
            .await));
        }
        // All of busy's mail is spam: repeat mail does not settle it.
        store
            .change_tags(&busy, &["spam".into()], &[])
            .await
            .unwrap();
        let quiet = id(insert(
            &store,
            &message("quiet@example.net", "me@example.org", "q@x"),
        )
        .await);
        let mut replied = Vec::new();
        for i in 0..3 {
            replied.push(id(insert(
                &store,
                &message(
                    &format!("other{i}@example.net"),
                    "me@example.org",
                    &format!("o{i}@x"),
                ),
            )
            .await));
        }
        store
            .change_tags(&replied, &["replied".into()], &[])
            .await
            .unwrap();
        // Six rows against three replies: the replies are walked; one row
        // against three: the address's rows are. Neither finds a reply.
        assert!(!known(&store, "busy@example.net", busy[0]).await);
        assert!(!known(&store, "quiet@example.net", quiet).await);
        // A reply to each, found from either side.
        store
            .change_tags(&busy[5..], &["replied".into()], &[])
            .await
            .unwrap();
        store
            .change_tags(&[quiet], &["replied".into()], &[])
            .await
            .unwrap();
        assert!(known(&store, "BUSY@example.net", busy[0]).await);
        // The message asked about is not its own evidence.
        assert!(!known(&store, "quiet@example.net", quiet).await);
        let again = id(insert(
            &store,
            &message("quiet@example.net", "me@example.org", "q2@x"),
        )
        .await);
        assert!(known(&store, "quiet@example.net", again).await);

        // Mail sent to them, from either side.
        let mut sent = Vec::new();
        for i in 0..4 {
            sent.push(id(insert(
                &store,
                &message(
                    "me@example.org",
                    &format!("pal{i}@example.com"),
                    &format!("s{i}@x"),
                ),
            )
            .await));
        }
        store
            .change_tags(&sent, &["sent".into()], &[])
            .await
            .unwrap();
        let pal = id(insert(
            &store,
            &message("pal0@example.com", "me@example.org", "p@x"),
        )
        .await);
        assert!(known(&store, "pal0@example.com", pal).await);
        let stranger = id(insert(
            &store,
            &message("nobody@example.com", "me@example.org", "n@x"),
        )
        .await);
        assert!(!known(&store, "nobody@example.com", stranger).await);
        store.close().await;
    }

    /// Each walk goes through the index it is written for, so its cost is the
    /// length of that list, whatever else the mailbox holds.
    #[tokio::test]
    async fn each_walk_uses_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        for (walks, name) in [(REPLIED, "replied"), (SENT, "sent")] {
            for (sql, index) in [
                (walks.count, "addresses_address_nocase"),
                (walks.by_address, "addresses_address_nocase"),
                (walks.by_tag, "message_tags_tag"),
            ] {
                let plan: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                        .bind("a@example.org")
                        .bind(1)
                        .bind(1)
                        .fetch_all(&store.pool)
                        .await
                        .unwrap();
                assert!(
                    plan.iter().any(|p| p.3.contains(index)),
                    "{name}: {sql}: {plan:?}"
                );
                assert!(
                    // Neither table is scanned.
                    !plan
                        .iter()
                        .any(|p| p.3.starts_with("SCAN a") || p.3.starts_with("SCAN mt")),
                    "{name}: {sql}: {plan:?}"
                );
            }
        }
        store.close().await;
    }
}
