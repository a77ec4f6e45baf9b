//! The command line's own checks.

use super::*;

#[test]
fn tag_args_split() {
    let args: Vec<String> = ["42", "+work", "-inbox", "7"].map(String::from).to_vec();
    let (ids, add, remove) = split_tag_args(&args).unwrap();
    assert_eq!(ids, vec![42, 7]);
    assert_eq!(add, vec!["work"]);
    assert_eq!(remove, vec!["inbox"]);
    assert!(split_tag_args(&["42".to_string()]).is_err());
    assert!(split_tag_args(&["+x".to_string()]).is_err());
    assert!(split_tag_args(&["abc".to_string(), "+x".to_string()]).is_err());
}

#[test]
fn cli_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}
