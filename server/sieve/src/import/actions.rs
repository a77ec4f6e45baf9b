//! Sieve action commands to Homepost rule actions.

use super::conditions::short;
use super::tags::{tag_from_folder, tag_from_keyword};
use crate::Actions;
use crate::ast::{Argument, Command};

/// Something in an action that was not carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub(crate) line: usize,
    pub(crate) reason: String,
}

/// Adds what `command` does to `actions`, noting what cannot be carried over.
/// `keep_in_block`: the same block also has `keep`, so filing into a folder
/// leaves the message in the inbox.
pub(crate) fn apply(
    command: &Command,
    keep_in_block: bool,
    actions: &mut Actions,
    notes: &mut Vec<Note>,
) {
    let mut note = |reason: String| {
        notes.push(Note {
            line: command.line,
            reason,
        });
    };
    if command.block.is_some() {
        note(format!(
            "Homepost does not know the Sieve command `{}`; it and its block are skipped",
            short(&command.name)
        ));
        return;
    }
    match command.name.as_str() {
        "require" => {
            if command.args.len() != 1 || command.args.iter().any(|a| a.strings().is_none()) {
                note("`require` should name the extensions the script uses".into());
            }
        }
        "stop" | "discard" if !command.args.is_empty() => {
            note(format!("`{}` takes no arguments here", command.name));
        }
        "stop" => actions.stop = true,
        "discard" => actions.trash = true,
        "keep" => match file_options(&command.args) {
            Ok(options) if options.folder.is_none() && !options.copy => {
                if let Some(flags) = options.flags {
                    add_flags(flags, actions, &mut note);
                }
            }
            Ok(_) => note("this command is not written correctly".into()),
            Err(reason) => note(reason),
        },
        "fileinto" => match file_options(&command.args) {
            Ok(FileOptions {
                folder: Some(folder),
                copy,
                flags,
            }) => {
                if let Some(flags) = flags {
                    add_flags(flags, actions, &mut note);
                }
                file_into(folder, copy || keep_in_block, actions, &mut note);
            }
            Ok(_) => note("`fileinto` should name one folder".into()),
            Err(reason) => note(reason),
        },
        "addflag" | "setflag" | "removeflag" => {
            let lists: Vec<&[String]> = command.args.iter().filter_map(Argument::strings).collect();
            match lists.as_slice() {
                [flags] if lists.len() == command.args.len() => {
                    if command.name == "removeflag" {
                        remove_flags(flags, actions, &mut note);
                    } else {
                        add_flags(flags, actions, &mut note);
                    }
                }
                [_, _] => note("variables are not supported".into()),
                _ => note("this command is not written correctly (expected the flags)".into()),
            }
        }
        other => note(unsupported(other)),
    }
}

/// The reason a command that is no action Homepost has is not carried over.
fn unsupported(name: &str) -> String {
    match name {
        "redirect" => "Homepost never forwards mail by itself: forwarding can send decrypted \
                       mail in clear to another server"
            .into(),
        "reject" | "ereject" => {
            "Homepost does not refuse mail after it arrived; mark it spam instead".into()
        }
        "vacation" => "automatic replies are not supported".into(),
        "notify" => "notifications are not supported".into(),
        "set" => "variables are not supported".into(),
        "include" | "return" | "global" => "Homepost rules cannot include other scripts".into(),
        "addheader" | "deleteheader" => "changing the message's headers is not supported".into(),
        "if" | "elsif" | "else" => "this command is not written correctly".into(),
        _ => format!("Homepost does not know the Sieve command `{}`", short(name)),
    }
}

/// The arguments of `fileinto` and `keep`.
struct FileOptions<'a> {
    folder: Option<&'a str>,
    copy: bool,
    flags: Option<&'a [String]>,
}

fn file_options(args: &[Argument]) -> Result<FileOptions<'_>, String> {
    let mut options = FileOptions {
        folder: None,
        copy: false,
        flags: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg {
            Argument::Tag(tag) => match tag.as_str() {
                "copy" => options.copy = true,
                "create" => {}
                "flags" => match args.next().and_then(Argument::strings) {
                    Some(flags) => options.flags = Some(flags),
                    None => return Err("`:flags` must be followed by the flags".into()),
                },
                // The folder's name is used; its id or special use only helps a server find it.
                "mailboxid" | "specialuse" => {
                    if args.next().and_then(Argument::strings).is_none() {
                        return Err(format!("`:{tag}` must be followed by a name"));
                    }
                }
                other => return Err(format!("the option `:{}` is not supported", short(other))),
            },
            Argument::String(folder) if options.folder.is_none() => {
                options.folder = Some(folder);
            }
            _ => return Err("this command is not written correctly".into()),
        }
    }
    Ok(options)
}

/// `fileinto "folder"`: a tag and out of the inbox, or spam, trash, archive.
fn file_into(
    folder: &str,
    stays_in_inbox: bool,
    actions: &mut Actions,
    note: &mut impl FnMut(String),
) {
    let trimmed = folder.trim();
    // Courier- and Cyrus-style names put every folder under "INBOX.".
    let name = match trimmed.get(..6) {
        Some(prefix)
            if prefix.eq_ignore_ascii_case("inbox.") || prefix.eq_ignore_ascii_case("inbox/") =>
        {
            trimmed
                .get(6..)
                .filter(|rest| !rest.is_empty())
                .unwrap_or(trimmed)
        }
        _ => trimmed,
    };
    let lower = name.to_lowercase();
    match lower.as_str() {
        "inbox" => {}
        "junk" | "spam" => actions.spam = Some(true),
        "trash" => actions.trash = true,
        "archive" => actions.archive |= !stays_in_inbox,
        _ => match tag_from_folder(name) {
            Ok(tag) => {
                add_tag(actions, tag);
                actions.archive |= !stays_in_inbox;
            }
            Err(reason) => note(format!("the folder cannot become a tag: {reason}")),
        },
    }
}

/// The flags of `addflag`, `setflag` and `:flags`: space-separated in each string.
fn add_flags(flags: &[String], actions: &mut Actions, note: &mut impl FnMut(String)) {
    for flag in flags.iter().flat_map(|f| f.split_whitespace()) {
        match flag.to_ascii_lowercase().as_str() {
            "\\seen" => {
                actions.mark_read = true;
                actions.remove_tags.retain(|t| t != "read");
            }
            "\\flagged" => add_tag(actions, "flagged".into()),
            "\\deleted" => actions.trash = true,
            "\\answered" | "\\draft" => note(format!(
                "the {} mark is set by mail programs, not by rules",
                flag.strip_prefix('\\').unwrap_or(flag)
            )),
            lower if lower.starts_with('\\') => {
                note(format!("Homepost has no {} mark", short(flag)));
            }
            _ => match tag_from_keyword(flag) {
                Ok(tag) => add_tag(actions, tag),
                Err(reason) => note(reason),
            },
        }
    }
}

/// The flags of `removeflag`.
fn remove_flags(flags: &[String], actions: &mut Actions, note: &mut impl FnMut(String)) {
    for flag in flags.iter().flat_map(|f| f.split_whitespace()) {
        match flag.to_ascii_lowercase().as_str() {
            "\\seen" => {
                actions.mark_read = false;
                remove_tag(actions, "read".into());
            }
            "\\flagged" => remove_tag(actions, "flagged".into()),
            lower if lower.starts_with('\\') => {
                note(format!(
                    "removing the {} mark is not supported",
                    short(flag)
                ));
            }
            _ => match tag_from_keyword(flag) {
                Ok(tag) => remove_tag(actions, tag),
                Err(reason) => note(reason),
            },
        }
    }
}

/// Adds `tag`; a later command wins over an earlier one that removed it.
fn add_tag(actions: &mut Actions, tag: String) {
    actions.remove_tags.retain(|t| *t != tag);
    if !actions.add_tags.contains(&tag) {
        actions.add_tags.push(tag);
    }
}

/// Removes `tag`; a later command wins over an earlier one that added it.
fn remove_tag(actions: &mut Actions, tag: String) {
    actions.add_tags.retain(|t| *t != tag);
    if !actions.remove_tags.contains(&tag) {
        actions.remove_tags.push(tag);
    }
}
