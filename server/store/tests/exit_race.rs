//! A process that exits while a dropped store's connections are still closing
//! must not crash (OpenSSL's exit handler used to free what SQLCipher was using).

use std::process::Command;

use homepost_store::{DB_FILE, Store};
use homepost_testing::vault;
use homepost_vault::Purpose;

const CHILD: &str = "HOMEPOST_EXIT_RACE_DIR";

/// Run in a child process: writes, reads on every connection, then drops the
/// store and exits at once, while sqlx closes the connections on their threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_drops_store_and_exits() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let key = vault::create(&dir).subkey(Purpose::Sqlcipher);
    let store = Store::open(&dir.join(DB_FILE), &key).await.unwrap();
    for i in 0..50 {
        store.create_tag(&format!("t{i}")).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.tag_counts().await.unwrap() }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    drop(store);
    std::process::exit(0);
}

#[test]
fn exit_while_connections_close_does_not_crash() {
    let exe = std::env::current_exe().unwrap();
    let mut crashed = 0;
    for _ in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(&exe)
            .args(["--exact", "child_drops_store_and_exits", "--nocapture"])
            .env(CHILD, dir.path())
            .output()
            .unwrap()
            .status;
        if !status.success() {
            crashed += 1;
        }
    }
    assert_eq!(crashed, 0, "{crashed} of 40 processes crashed at exit");
}
