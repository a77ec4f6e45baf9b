//! Reading mbox files, Maildirs and .eml files as one stream of messages.

use super::*;
use std::fs;
use std::path::Path;

const MESSAGE: &[u8] = b"Subject: hi\n\nbody\n";

fn write(path: &Path, data: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, data)
}

fn collect(paths: Vec<PathBuf>) -> (Vec<RawMessage>, Vec<SourceError>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for item in ImportSources::new(paths) {
        match item {
            Ok(message) => ok.push(message),
            Err(error) => errors.push(error),
        }
    }
    (ok, errors)
}

fn origins(messages: &[RawMessage], root: &Path) -> Vec<String> {
    let root = root.display().to_string();
    messages
        .iter()
        .map(|m| m.origin.strip_prefix(&root).unwrap_or(&m.origin).to_owned())
        .collect()
}

#[test]
fn maildir_with_flags_and_maildir_plus_plus_folders() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let md = dir.path();
    write(&md.join("cur/1.host:2,FS"), MESSAGE)?;
    write(&md.join("cur/2.host:2,"), MESSAGE)?;
    write(&md.join("new/3.host:2,S"), MESSAGE)?;
    write(&md.join("tmp/4.host"), MESSAGE)?;
    write(&md.join("cur/.hidden"), MESSAGE)?;
    write(&md.join("cur/5.empty"), b"")?;
    write(&md.join(".Sent/cur/6.host:2,S"), MESSAGE)?;
    write(&md.join(".Sent.Old/new/7.host"), MESSAGE)?;
    write(&md.join("dovecot-uidlist"), b"3 V1 N1\n")?;
    write(&md.join("courierimapkeywords/1.host"), MESSAGE)?;
    let (messages, errors) = collect(vec![md.to_owned()]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        origins(&messages, md),
        [
            "/cur/1.host:2,FS",
            "/cur/2.host:2,",
            "/new/3.host:2,S",
            "/.Sent/cur/6.host:2,S",
            "/.Sent.Old/new/7.host"
        ]
    );
    assert_eq!(messages[0].tags, ["flagged", "read"]);
    assert!(messages[1].tags.is_empty());
    assert!(messages[2].tags.is_empty(), "new/ is unread");
    assert_eq!(messages[3].tags, ["read"]);
    assert!(messages.iter().all(|m| m.raw == MESSAGE));
    Ok(())
}

#[test]
fn plain_directory_walk_is_sorted_and_filtered() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    write(&root.join("b/2.eml"), MESSAGE)?;
    write(&root.join("b/1.EML"), MESSAGE)?;
    write(&root.join("a/17"), MESSAGE)?;
    write(&root.join("a/notes.txt"), MESSAGE)?;
    write(&root.join("a/key.asc"), MESSAGE)?;
    write(&root.join("a/expected.json"), MESSAGE)?;
    write(&root.join(".git/HEAD"), MESSAGE)?;
    write(&root.join(".hidden.eml"), MESSAGE)?;
    write(&root.join("c/box.mbx"), b"From a Mon Jan  1 00:00:00 2024\nS: 1\n\n1\n\nFrom b Mon Jan  1 00:00:00 2024\nS: 2\n\n2\n\n")?;
    write(&root.join("c/md/cur/9:2,R"), MESSAGE)?;
    write(&root.join("c/noext"), MESSAGE)?;
    let (messages, errors) = collect(vec![root.to_owned()]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        origins(&messages, root),
        [
            "/a/17",
            "/b/1.EML",
            "/b/2.eml",
            "/c/box.mbx@0",
            "/c/box.mbx@41",
            "/c/md/cur/9:2,R",
            "/c/noext"
        ]
    );
    assert_eq!(messages[3].raw, b"S: 1\n\n1\n");
    assert_eq!(messages[3].mbox_number, Some(1));
    assert_eq!(messages[4].mbox_number, Some(2));
    assert_eq!(messages[5].mbox_number, None);
    assert_eq!(messages[4].raw, b"S: 2\n\n2\n");
    assert_eq!(messages[5].tags, ["replied"]);
    Ok(())
}

#[test]
fn explicit_files_are_always_imported_and_sniffed() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let txt = dir.path().join("mail.txt");
    let mbox = dir.path().join("archive.json");
    write(&txt, MESSAGE)?;
    write(
        &mbox,
        b"From x Mon Jan  1 00:00:00 2024\r\nS: 1\r\n\r\nbody\r\n",
    )?;
    let (messages, errors) = collect(vec![txt.clone(), mbox.clone()]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].origin, txt.display().to_string());
    assert_eq!(messages[1].origin, format!("{}@0", mbox.display()));
    assert_eq!(messages[1].raw, b"S: 1\r\n\r\nbody\r\n");
    Ok(())
}

#[test]
fn errors_do_not_stop_the_import() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.eml");
    write(&good, MESSAGE)?;
    let missing = dir.path().join("missing.eml");
    let (messages, errors) = collect(vec![missing.clone(), good]);
    assert_eq!(messages.len(), 1);
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(text.contains("missing.eml"), "{text}");
    assert!(text.contains("check that it exists"), "{text}");
    Ok(())
}

#[test]
fn progress_reaches_total_bytes() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut mbox = Vec::new();
    crate::mbox::write_mboxrd(&mut mbox, &[MESSAGE, MESSAGE, MESSAGE])?;
    write(&dir.path().join("a.eml"), MESSAGE)?;
    write(&dir.path().join("b.mbox"), &mbox)?;
    write(&dir.path().join("c.eml"), b"")?;
    let sources = ImportSources::new(vec![dir.path().to_owned()]);
    let total = sources.total_bytes();
    assert_eq!(total, (mbox.len() + MESSAGE.len()) as u64);
    let progress: Vec<u64> = sources
        .map(|m| m.map(|m| m.progress_bytes))
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)?;
    assert_eq!(progress.len(), 4);
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(progress.last().copied(), Some(total));
    Ok(())
}

#[test]
fn mail_names() {
    for name in [
        "a.eml", "b.MSG", "c.mbox", "d.mbx", "e.mail", "inbox", "123", "msg-1:2,",
    ] {
        assert!(looks_like_mail(name), "{name}");
    }
    for name in ["a.json", "b.asc", "c.txt", "d.gpg", "e.pdf"] {
        assert!(!looks_like_mail(name), "{name}");
    }
}

#[test]
fn symlinks_to_files_are_read_dangling_ones_reported_and_directories_not_followed() -> io::Result<()>
{
    let dir = tempfile::tempdir()?;
    let md = dir.path().join("md");
    let outside = dir.path().join("outside");
    write(&outside.join("real.eml"), MESSAGE)?;
    write(&md.join("cur/1.host:2,S"), MESSAGE)?;
    std::os::unix::fs::symlink(outside.join("real.eml"), md.join("cur/2.link:2,S"))?;
    std::os::unix::fs::symlink(dir.path().join("gone.eml"), md.join("cur/3.gone:2,S"))?;
    write(&md.join("new/4.host"), MESSAGE)?;
    // A loop back to the top is never walked.
    std::os::unix::fs::symlink(dir.path(), outside.join("loop"))?;
    let (messages, errors) = collect(vec![md.clone(), outside.clone()]);
    assert_eq!(
        origins(&messages, dir.path()),
        [
            "/md/cur/1.host:2,S",
            "/md/cur/2.link:2,S",
            "/md/new/4.host",
            "/outside/real.eml"
        ]
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].to_string().contains("3.gone"), "{}", errors[0]);
    // The count up front agrees with what is read.
    let sources = ImportSources::new(vec![md, outside]);
    assert_eq!(sources.total_bytes(), 4 * MESSAGE.len() as u64);
    Ok(())
}
