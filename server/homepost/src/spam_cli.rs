//! `homepost spam`: teach the filter, score mail, and its numbers.

use anyhow::Result;
use homepost_core::library::{ImportProgress, Library};
use homepost_core::spam::SpamCheck;
use homepost_mail::ImportSources;
use homepost_spam::Class;

use crate::cli::SpamCommand;
use crate::{Progress, console, output};

pub async fn spam_command(command: &SpamCommand, lib: &mut Library) -> Result<()> {
    match command {
        SpamCommand::Learn { spam, ham } => {
            let runs = [(Class::Spam, "spam", spam), (Class::Ham, "ham", ham)];
            let sources: Vec<_> = runs
                .into_iter()
                .filter(|(_, _, paths)| !paths.is_empty())
                .map(|(class, name, paths)| (class, name, ImportSources::new(paths.clone())))
                .collect();
            let bar = Progress::new(
                "spam learn",
                sources.iter().map(|s| s.2.total_bytes()).sum(),
            );
            let mut lines = Vec::new();
            let (mut base_bytes, mut base_messages) = (0, 0);
            for (class, name, sources) in sources {
                let total = sources.total_bytes();
                let stats = lib
                    .learn_spam(sources, class, |p: ImportProgress| {
                        bar.set(base_bytes + p.bytes, base_messages + p.messages);
                    })
                    .await?;
                base_bytes += total;
                let o = &stats.outcome;
                base_messages += o.learned + o.relearned + o.unchanged;
                for e in &stats.unreadable {
                    bar.println(&format!("homepost: skipped: {e}"));
                }
                lines.push(format!(
                    "{name}: learned {}, corrected {}, already learnt {}, unreadable {}",
                    o.learned,
                    o.relearned,
                    o.unchanged,
                    stats.unreadable.len()
                ));
            }
            bar.finish();
            for line in lines {
                outln!("{line}");
            }
            let stats = lib.store().spam_stats().await?;
            outln!(
                "the filter has learnt {} spam and {} ham messages ({} tokens)",
                stats.spam,
                stats.ham,
                stats.tokens
            );
        }
        SpamCommand::Check { paths } => {
            let sources = ImportSources::new(paths.clone());
            lib.check_spam(sources, |check| {
                match check {
                    SpamCheck::Scored {
                        origin,
                        mbox_number,
                        score,
                    } => {
                        let line = output::spam_check_line(origin, mbox_number, &score);
                        console::out(format_args!("{line}"))?;
                    }
                    SpamCheck::Unreadable(e) => errln!("homepost: skipped: {e}"),
                }
                Ok(())
            })
            .await?;
        }
        SpamCommand::Stats => {
            let stats = lib.store().spam_stats().await?;
            outln!("spam messages learnt: {}", stats.spam);
            outln!("ham messages learnt: {}", stats.ham);
            outln!("tokens: {}", stats.tokens);
        }
    }
    Ok(())
}
