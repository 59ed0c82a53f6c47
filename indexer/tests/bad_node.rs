//! A node that answers garbage does not stop the indexer: errors are counted and logged, and the
//! indexer keeps retrying until the node makes sense again.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use dgcm_indexer::pgcluster::fresh_test_database;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_node_json_is_survived() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = "{\"header\": {\"oops\"";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    let node = dgcm_chain::NodeClient::connect(format!("http://{addr}")).unwrap();
    let db = tokio::task::spawn_blocking(fresh_test_database)
        .await
        .unwrap()
        .unwrap();
    let indexer = spawn(config(&db), node);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        indexer.metrics.errors.load(Ordering::Relaxed) >= 2,
        "errors are counted and retried"
    );
    assert_eq!(applied(&indexer), 0);
    assert!(
        indexer.is_running(),
        "garbage from the node never ends the indexer"
    );
    indexer.stop().await;
}
