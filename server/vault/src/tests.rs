//! The vault's unit tests.

use super::*;

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

#[test]
fn create_unlock_and_subkeys_are_stable_and_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(
        dir.path(),
        &pass("correct horse"),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    let again = Vault::unlock(dir.path(), &pass("correct horse")).unwrap();
    for p in [
        Purpose::Sqlcipher,
        Purpose::Index,
        Purpose::Backup,
        Purpose::Session,
    ] {
        assert_eq!(v.subkey(p).expose(), again.subkey(p).expose());
    }
    assert_ne!(
        v.subkey(Purpose::Sqlcipher).expose(),
        v.subkey(Purpose::Index).expose()
    );
    assert_ne!(v.subkey(Purpose::Index).expose(), v.master.expose());
}

#[test]
fn data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Vault::create(&data, &pass("pw"), KdfParams::INSECURE_FOR_TESTS).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(VAULT_FILE)), 0o600);
}

#[test]
fn wrong_passphrase_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    Vault::create(dir.path(), &pass("right"), KdfParams::INSECURE_FOR_TESTS).unwrap();
    let before = std::fs::read(dir.path().join(VAULT_FILE)).unwrap();
    let err = Vault::unlock(dir.path(), &pass("wrong")).unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err}");
    assert_eq!(before, std::fs::read(dir.path().join(VAULT_FILE)).unwrap());
}

#[test]
fn change_passphrase_keeps_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(dir.path(), &pass("old"), KdfParams::INSECURE_FOR_TESTS).unwrap();
    let key = v.subkey(Purpose::Sqlcipher);
    v.change_passphrase(&pass("new"), KdfParams::INSECURE_FOR_TESTS)
        .unwrap();
    assert!(matches!(
        Vault::unlock(dir.path(), &pass("old")),
        Err(Error::WrongPassphrase)
    ));
    let v2 = Vault::unlock(dir.path(), &pass("new")).unwrap();
    assert_eq!(v2.subkey(Purpose::Sqlcipher).expose(), key.expose());
}

#[test]
fn edited_parameters_do_not_unwrap() {
    let dir = tempfile::tempdir().unwrap();
    Vault::create(dir.path(), &pass("pw"), KdfParams::INSECURE_FOR_TESTS).unwrap();
    let path = dir.path().join(VAULT_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("\"t_cost\": 1", "\"t_cost\": 2");
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    assert!(Vault::unlock(dir.path(), &pass("pw")).is_err());
}

#[test]
fn absurd_kdf_cost_is_refused_before_deriving() {
    let dir = tempfile::tempdir().unwrap();
    Vault::create(dir.path(), &pass("pw"), KdfParams::INSECURE_FOR_TESTS).unwrap();
    let path = dir.path().join(VAULT_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"m_cost\": 64", "\"m_cost\": 4000000000"),
    )
    .unwrap();
    assert!(matches!(
        Vault::unlock(dir.path(), &pass("pw")),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn refuses_to_overwrite_and_reports_missing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Vault::unlock(dir.path(), &pass("pw")),
        Err(Error::NotInitialised(_))
    ));
    Vault::create(dir.path(), &pass("pw"), KdfParams::INSECURE_FOR_TESTS).unwrap();
    assert!(matches!(
        Vault::create(dir.path(), &pass("pw"), KdfParams::INSECURE_FOR_TESTS),
        Err(Error::AlreadyInitialised(_))
    ));
    assert!(matches!(
        Vault::create(
            tempfile::tempdir().unwrap().path(),
            &pass(""),
            KdfParams::INSECURE_FOR_TESTS
        ),
        Err(Error::BadPassphrase(_))
    ));
}

#[test]
fn garbage_vault_is_corrupt_not_wrong_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(VAULT_FILE), b"{not json").unwrap();
    assert!(matches!(
        Vault::unlock(dir.path(), &pass("pw")),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn debug_output_hides_secrets() {
    let p = pass("hunter2");
    assert!(!format!("{p:?}").contains("hunter2"));
    let k = SecretKey([7; 32]);
    assert_eq!(format!("{k:?}"), "SecretKey(..)");
}
