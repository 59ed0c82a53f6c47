//! The node client's transport behaviour: retries with backoff, typed errors, timeouts.

use std::time::{Duration, Instant};

use dgcm_chain::{ClientConfig, NodeClient, NodeError};
use dgcm_devnet::{Devnet, DevnetConfig};

fn free_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn retries_until_the_node_comes_up() {
    let addr = free_port();
    let client = NodeClient::new(ClientConfig {
        retries: 6,
        backoff: Duration::from_millis(100),
        ..ClientConfig::new(format!("http://{addr}"))
    })
    .unwrap();
    let starter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        dgcm_devnet::start(Devnet::new(DevnetConfig::default()).unwrap(), addr)
            .await
            .unwrap()
    });
    let info = client
        .info()
        .await
        .expect("the client retries until the devnet listens");
    assert_eq!(info.name, "dgcm-devnet");
    starter.await.unwrap().stop().await;
}

#[tokio::test]
async fn gives_up_with_a_transport_error_after_retries() {
    let addr = free_port();
    let client = NodeClient::new(ClientConfig {
        retries: 2,
        backoff: Duration::from_millis(50),
        ..ClientConfig::new(format!("http://{addr}"))
    })
    .unwrap();
    let t0 = Instant::now();
    let err = client.info().await.expect_err("nobody listens");
    assert!(matches!(err, NodeError::Transport { .. }), "{err}");
    // 50 ms + 100 ms of backoff between the three attempts.
    assert!(t0.elapsed() >= Duration::from_millis(150));
    assert!(err.to_string().contains(&addr.to_string()));
}

#[tokio::test]
async fn times_out_instead_of_hanging() {
    // A listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            conns.push(c);
        }
    });
    let client = NodeClient::new(ClientConfig {
        timeout: Duration::from_millis(300),
        retries: 0,
        ..ClientConfig::new(format!("http://{addr}"))
    })
    .unwrap();
    let t0 = Instant::now();
    assert!(client.info().await.is_err());
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[test]
fn rejects_a_url_without_scheme() {
    assert!(matches!(
        NodeClient::connect("localhost:9053"),
        Err(NodeError::BadUrl(_))
    ));
}
