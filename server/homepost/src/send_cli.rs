//! `homepost send`: the app's "send" from the command line, through the same
//! core function (`homepost_core::outgoing::send_draft`).

use anyhow::{Context, Result, bail};
use homepost_core::library::Library;
use homepost_core::outgoing::{self, MAX_ATTACHMENT};
use homepost_mail::compose::MAX_BODY_BYTES;
use homepost_store::DraftContent;
use homepost_transport::Options;

use crate::cli::SendArgs;

/// Queues the message (a saved draft, or one made of the arguments and the body
/// on stdin) in the outbox.
pub async fn send(args: &SendArgs, lib: &mut Library) -> Result<()> {
    let now = homepost_core::unix_now();
    let lifetime = Options::default().outbox_lifetime.as_secs() as i64;
    let (draft, made_here) = match args.draft {
        Some(id) => (id, false),
        None => (new_draft(args, lib, now).await?, true),
    };
    match outgoing::send_draft(lib, draft, lifetime, now).await {
        Ok(outbox) => {
            outln!(
                "Queued as outbox message {outbox}; `homepost fetch` or the running server sends it."
            );
            Ok(())
        }
        Err(e) => {
            // A draft made only for this command goes again; one from the app stays.
            if made_here {
                lib.store().delete_draft(draft).await?;
            }
            Err(e).context("cannot send")
        }
    }
}

async fn new_draft(args: &SendArgs, lib: &Library, now: i64) -> Result<i64> {
    let body = crate::console::read_stdin(MAX_BODY_BYTES)
        .context("cannot read the message body from stdin")?
        .to_vec();
    if body.len() > MAX_BODY_BYTES {
        bail!("the body is over {} MiB", MAX_BODY_BYTES >> 20);
    }
    let body = String::from_utf8(body).context("the body on stdin is not UTF-8 text")?;
    let mut files = Vec::new();
    for path in &args.attach {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size > MAX_ATTACHMENT as u64 {
            bail!("{}: attachments are limited to 25 MiB", path.display());
        }
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        files.push((path.to_string_lossy().into_owned(), data));
    }
    let store = lib.store();
    let content = DraftContent {
        account_id: args.account,
        to: args.to.clone(),
        cc: args.cc.clone(),
        bcc: args.bcc.clone(),
        subject: args.subject.clone(),
        body,
        encrypt: match (args.encrypt, args.no_encrypt) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        ..Default::default()
    };
    let draft = store.create_draft(&content, now).await?;
    for (name, data) in &files {
        if let Err(e) =
            outgoing::add_attachment(store, draft, name, "application/octet-stream", data, now)
                .await
        {
            store.delete_draft(draft).await?;
            return Err(e).with_context(|| format!("cannot attach {name}"));
        }
    }
    Ok(draft)
}
