//! End to end on loopback: echo servers side by side, driven by one client (wstack's), so
//! differences come from the servers. A plain TCP echo of the same bytes is the ceiling.
//!
//! - `round_trip/<server>/<size>`: one connection, one message in flight.
//! - `pipelined/<server>`: 50 connections, each sending 2,000 messages of 64 B as fast as
//!   its high-water mark lets it while reading the echoes (not yet a fixed window of 16).
//!
//! `cargo bench -p wstack-benches --bench async_e2e -- --warm-up-time 1 --measurement-time 2`
#![allow(clippy::unwrap_used, missing_docs)] // benchmark harness: a panic is a failed run

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wstack_tokio::{Bytes, Message};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn wstack_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(wstack_tokio::serve(l, |mut ws, _| async move {
        while let Some(Ok(m)) = ws.recv().await {
            if matches!(m, Message::Binary(_) | Message::Text(_)) && ws.feed(m).await.is_err() {
                break;
            }
        }
    }));
    addr
}

async fn tungstenite_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if (m.is_binary() || m.is_text()) && ws.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn tcp_echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut tcp, _) = l.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if tcp.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Round trips of one `size`-byte message, `iters` times.
async fn ws_round_trips(addr: SocketAddr, size: usize, iters: u64) -> Duration {
    let (mut ws, _) = wstack_tokio::connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    let payload = Bytes::from(vec![7u8; size]);
    let start = Instant::now();
    for _ in 0..iters {
        ws.send(Message::Binary(payload.clone())).await.unwrap();
        let m = ws.recv().await.unwrap().unwrap();
        assert!(matches!(m, Message::Binary(b) if b.len() == size));
    }
    start.elapsed()
}

/// The same bytes a masked client frame takes, echoed by a TCP server.
async fn tcp_round_trips(addr: SocketAddr, size: usize, iters: u64) -> Duration {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let header = if size < 126 {
        6
    } else if size < 65536 {
        8
    } else {
        14
    };
    let out = vec![7u8; size + header];
    let mut back = vec![0u8; out.len()];
    let start = Instant::now();
    for _ in 0..iters {
        tcp.write_all(&out).await.unwrap();
        tcp.read_exact(&mut back).await.unwrap();
    }
    start.elapsed()
}

/// `conns` connections, each sending `per_conn` messages while reading the echoes.
async fn pipelined(addr: SocketAddr, conns: usize, per_conn: u64) -> Duration {
    let mut clients = Vec::new();
    for _ in 0..conns {
        clients.push(
            wstack_tokio::connect(&format!("ws://{addr}/"))
                .await
                .unwrap()
                .0,
        );
    }
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|ws| {
            tokio::spawn(async move {
                let (mut tx, mut rx) = ws.split();
                let payload = Bytes::from(vec![1u8; 64]);
                let sender = tokio::spawn(async move {
                    for _ in 0..per_conn {
                        tx.feed(Message::Binary(payload.clone())).await.unwrap();
                    }
                    tx.flush().await.unwrap();
                    tx
                });
                for _ in 0..per_conn {
                    rx.recv().await.unwrap().unwrap();
                }
                drop(sender.await.unwrap());
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let servers = rt.block_on(async {
        [
            ("wstack", wstack_server().await),
            ("tokio-tungstenite", tungstenite_server().await),
        ]
    });
    let tcp = rt.block_on(tcp_echo_server());

    let mut g = c.benchmark_group("round_trip");
    for size in [16usize, 1024, 64 * 1024, 1 << 20] {
        g.throughput(Throughput::Bytes(size as u64 * 2));
        for (name, addr) in servers {
            g.bench_with_input(BenchmarkId::new(name, size), &size, |b, &size| {
                b.iter_custom(|iters| rt.block_on(ws_round_trips(addr, size, iters)));
            });
        }
        g.bench_with_input(BenchmarkId::new("tcp-echo", size), &size, |b, &size| {
            b.iter_custom(|iters| rt.block_on(tcp_round_trips(tcp, size, iters)));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pipelined");
    g.sample_size(10);
    let (conns, per_conn) = (50usize, 2000u64);
    g.throughput(Throughput::Elements(conns as u64 * per_conn));
    for (name, addr) in servers {
        g.bench_function(BenchmarkId::new(name, "50conns_x_2000_x_64B"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += rt.block_on(pipelined(addr, conns, per_conn));
                }
                total
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
