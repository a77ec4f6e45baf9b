//! One visitor's stream: a TCP connection to the box's HTTPS listener, with the
//! bytes copied both ways through the tunnel. The bytes are TLS records the box
//! itself terminates; nothing here looks into them.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::debug;

use crate::chunk;

/// What the tunnel hands one stream.
#[derive(Debug)]
pub(crate) enum ToLocal {
    /// Bytes from the visitor.
    Data(Bytes),
    /// The frontend closed a direction (see `chunk::Frame::Eof`).
    Eof { read: bool, write: bool },
}

/// The tunnel's side of a running stream.
pub(crate) struct StreamHandle {
    /// Bytes and closes for the box's side, in order.
    pub(crate) to_local: mpsc::Sender<ToLocal>,
    /// KiB the frontend has delivered to the visitor (its `SKB`), once it said.
    pub(crate) delivered: watch::Sender<Option<u64>>,
}

/// How much is read from the box's side at once.
const READ_SIZE: usize = 32 * 1024;
/// How far (KiB) the box's side may run ahead of what the frontend has
/// delivered to the visitor, once the frontend reports it. pagekite's own
/// backend allows about 47 KiB; more keeps long-distance downloads fast.
const WINDOW_KIB: u64 = 512;
/// Chunks queued for the box's side before the tunnel waits for it.
const QUEUE: usize = 256;
/// How long the box's listener may take to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts stream `sid` towards `local`; its frames for the frontend go to `out`.
/// The task's result is its `sid`, when both directions are done.
pub(crate) fn spawn(
    tasks: &mut JoinSet<u64>,
    sid: u64,
    local: SocketAddr,
    out: mpsc::Sender<Vec<u8>>,
) -> StreamHandle {
    let (to_local, from_tunnel) = mpsc::channel(QUEUE);
    let (delivered, delivered_rx) = watch::channel(None);
    tasks.spawn(async move {
        run(sid, local, from_tunnel, delivered_rx, out).await;
        sid
    });
    StreamHandle {
        to_local,
        delivered,
    }
}

async fn run(
    sid: u64,
    local: SocketAddr,
    from_tunnel: mpsc::Receiver<ToLocal>,
    delivered: watch::Receiver<Option<u64>>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(local)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(error)) => {
            tracing::warn!(sid, %local, %error, "the box's HTTPS listener did not take a relayed stream");
            let _ = out.send(chunk::eof(sid, true, true)).await;
            return;
        }
        Err(_) => {
            tracing::warn!(sid, %local, "the box's HTTPS listener did not accept a relayed stream in time");
            let _ = out.send(chunk::eof(sid, true, true)).await;
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    debug!(sid, "relayed stream opened");
    let (reader, writer) = tcp.into_split();
    let (stop_reading, stop_rx) = watch::channel(false);
    tokio::join!(
        upstream(sid, reader, delivered, stop_rx, out.clone()),
        downstream(sid, writer, from_tunnel, stop_reading, out),
    );
    debug!(sid, "relayed stream closed");
}

/// Box -> visitor: reads the box's side into data chunks, keeping at most
/// `WINDOW_KIB` ahead of what the frontend reports delivered.
async fn upstream(
    sid: u64,
    mut reader: OwnedReadHalf,
    mut delivered: watch::Receiver<Option<u64>>,
    mut stop: watch::Receiver<bool>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let mut sent: u64 = 0;
    let mut buf = vec![0; READ_SIZE];
    loop {
        loop {
            let ahead = (*delivered.borrow_and_update())
                .is_some_and(|kib| (sent / 1024).saturating_sub(kib) > WINDOW_KIB);
            if !ahead {
                break;
            }
            tokio::select! {
                changed = delivered.changed() => if changed.is_err() { return },
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
        let read = tokio::select! {
            read = reader.read(&mut buf) => read,
            _ = stop.wait_for(|stop| *stop) => return,
        };
        match read {
            Ok(0) => {
                let _ = out.send(chunk::eof(sid, true, false)).await;
                return;
            }
            Ok(n) => {
                if out.send(chunk::data(sid, &buf[..n])).await.is_err() {
                    return;
                }
                sent += n as u64;
            }
            Err(error) => {
                debug!(sid, %error, "reading the box's side failed");
                let _ = out.send(chunk::eof(sid, true, true)).await;
                return;
            }
        }
    }
}

/// Visitor -> box: writes the visitor's bytes to the box's side and tells the
/// frontend how much was taken (`SKB`), so it reads no more from the visitor
/// than the box keeps up with. Returns once the frontend closed this direction
/// (or writing failed) and the other direction is done too.
async fn downstream(
    sid: u64,
    mut writer: OwnedWriteHalf,
    mut from_tunnel: mpsc::Receiver<ToLocal>,
    stop_reading: watch::Sender<bool>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let mut written: u64 = 0;
    let mut reported_kib = 0;
    let mut write_closed = false;
    let mut batch = Vec::with_capacity(64);
    loop {
        if write_closed && (*stop_reading.borrow() || stop_reading.is_closed()) {
            return;
        }
        let received = if write_closed {
            tokio::select! {
                n = from_tunnel.recv_many(&mut batch, 64) => n,
                () = stop_reading.closed() => return,
            }
        } else {
            from_tunnel.recv_many(&mut batch, 64).await
        };
        if received == 0 {
            // The tunnel is gone.
            stop_reading.send_replace(true);
            return;
        }
        for item in batch.drain(..) {
            match item {
                ToLocal::Data(bytes) if !write_closed => match writer.write_all(&bytes).await {
                    Ok(()) => written += bytes.len() as u64,
                    Err(error) => {
                        debug!(sid, %error, "writing to the box's side failed");
                        write_closed = true;
                        let _ = out.send(chunk::eof(sid, false, true)).await;
                    }
                },
                ToLocal::Data(_) => {}
                ToLocal::Eof { read, write } => {
                    if write {
                        stop_reading.send_replace(true);
                    }
                    if read && !write_closed {
                        write_closed = true;
                        let _ = writer.shutdown().await;
                    }
                }
            }
        }
        if written / 1024 != reported_kib && !write_closed {
            reported_kib = written / 1024;
            let _ = out.send(chunk::progress(sid, reported_kib)).await;
        }
    }
}
