//! One tunnel to the frontend: the handshake over a TCP connection, then the
//! chunks of every visitor's stream until the tunnel ends.

use std::collections::HashMap;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use crate::chunk::{self, Frame};
use crate::error::RelayError;
use crate::handshake::{self, Answer};
use crate::stream::{self, StreamHandle, ToLocal};
use crate::{RelayConfig, RelayStatus};

/// Frames queued for the frontend before streams wait for the socket.
const OUT_QUEUE: usize = 64;
/// The most streams open at once; more are refused with an `EOF`.
const MAX_STREAMS: usize = 256;
/// Room kept free for each read from the frontend.
const READ_ROOM: usize = 64 * 1024;

/// Registers the kite and carries its streams until the tunnel ends, which it
/// always does with an error. `session` is the frontend's id for this
/// connector's last tunnel (sent as `X-PageKite-Replace`, updated on success);
/// `registered` is set once the frontend took the kite.
pub(crate) async fn run(
    config: &RelayConfig,
    status: &watch::Sender<RelayStatus>,
    session: &mut Option<String>,
    registered: &mut bool,
) -> RelayError {
    let (stream, rest, session_id) = match register(config, session.as_deref()).await {
        Ok(tunnel) => tunnel,
        Err(error) => return error,
    };
    if session_id.is_some() {
        *session = session_id;
    }
    *registered = true;
    info!("registered at the relay");
    status.send_replace(RelayStatus::Registered {
        kite: config.kite.clone(),
    });
    carry(config, stream, rest).await
}

/// The two-step handshake; returns the tunnel's connection, the bytes already
/// read after the answer, and the frontend's session id.
async fn register(
    config: &RelayConfig,
    replace: Option<&str>,
) -> Result<(TcpStream, BytesMut, Option<String>), RelayError> {
    let salt = hex::encode(random::<18>());
    let (stream, answer, rest) = ask(config, &salt, "", replace).await?;
    let (stream, answer, rest) = match answer {
        Answer::SignThis { token } => {
            drop(stream);
            debug!("signing the relay's challenge");
            let (stream, answer, rest) = ask(config, &salt, &token, replace).await?;
            if let Answer::SignThis { .. } = answer {
                return Err(RelayError::ChallengeAgain);
            }
            (stream, answer, rest)
        }
        answer => (stream, answer, rest),
    };
    match answer {
        Answer::Registered { session_id } => Ok((stream, rest, session_id)),
        Answer::Refused(refusal) => Err(RelayError::Refused(refusal)),
        Answer::SignThis { .. } => Err(RelayError::ChallengeAgain),
    }
}

/// One `CONNECT PageKite:1` request on a new connection, and its answer.
async fn ask(
    config: &RelayConfig,
    salt: &str,
    token: &str,
    replace: Option<&str>,
) -> Result<(TcpStream, Answer, BytesMut), RelayError> {
    let exchange = async {
        let mut stream = TcpStream::connect(&config.frontend)
            .await
            .map_err(|source| RelayError::Connect {
                frontend: config.frontend.clone(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let request = handshake::request(
            &config.kite,
            salt,
            token,
            &config.secret,
            random::<4>(),
            replace,
        );
        stream.write_all(&request).await?;
        let mut buf = BytesMut::with_capacity(4096);
        loop {
            if let Some(end) = handshake::head_end(&buf) {
                let head = buf.split_to(end);
                let answer = handshake::parse_answer(&head, &config.kite)?;
                return Ok((stream, answer, buf));
            }
            if buf.len() > handshake::MAX_HEAD {
                return Err(RelayError::Answer(handshake::AnswerError::BadHeader));
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(if buf.is_empty() {
                    RelayError::NoAnswer
                } else {
                    RelayError::Answer(handshake::AnswerError::NotHttp(handshake::printable(
                        &String::from_utf8_lossy(&buf),
                    )))
                });
            }
        }
    };
    match tokio::time::timeout(config.handshake_timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(RelayError::Timeout(config.handshake_timeout)),
    }
}

/// Demultiplexes the tunnel: each new stream id opens a connection to the box's
/// listener; control chunks are answered; a silent frontend is pinged.
async fn carry(config: &RelayConfig, stream: TcpStream, mut buf: BytesMut) -> RelayError {
    let (mut reader, writer) = stream.into_split();
    let (out, out_rx) = mpsc::channel::<Vec<u8>>(OUT_QUEUE);
    // Dropping these sets (when the tunnel ends, or the connector stops) aborts
    // the writer and every stream.
    let mut writer_task = JoinSet::new();
    writer_task.spawn(write_out(writer, out_rx));
    let mut streams: HashMap<u64, StreamHandle> = HashMap::new();
    let mut tasks: JoinSet<u64> = JoinSet::new();

    let ping_every = config.ping_interval;
    let mut ticker = tokio::time::interval(ping_every / 4);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut last_ping = Instant::now();
    loop {
        loop {
            let frame =
                match chunk::decode(&mut buf).and_then(|c| c.map(chunk::interpret).transpose()) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(error) => return RelayError::Framing(error),
                };
            if let Err(error) = handle(config, frame, &out, &mut streams, &mut tasks).await {
                return error;
            }
        }
        // Without spare room, read_buf would read a few bytes at a time.
        if buf.capacity() - buf.len() < READ_ROOM / 4 {
            buf.reserve(READ_ROOM);
        }
        tokio::select! {
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) => return RelayError::Closed,
                Ok(_) => last_heard = Instant::now(),
                Err(error) => return RelayError::Io(error),
            },
            Some(done) = tasks.join_next() => match done {
                Ok(sid) => { streams.remove(&sid); }
                Err(_) => streams.retain(|_, s| !s.to_local.is_closed()),
            },
            written = writer_task.join_next() => return match written {
                Some(Ok(Err(error))) => RelayError::Io(error),
                _ => RelayError::Closed,
            },
            _ = ticker.tick() => {
                let silent = last_heard.elapsed();
                if silent >= ping_every * 2 {
                    return RelayError::Silent(silent);
                }
                if silent >= ping_every && last_ping.elapsed() >= ping_every {
                    last_ping = Instant::now();
                    let stamp = format!("{:.4}", unix_time());
                    if out.send(chunk::ping(&stamp)).await.is_err() {
                        return RelayError::Closed;
                    }
                }
            }
        }
    }
}

/// Acts on one frame from the frontend.
async fn handle(
    config: &RelayConfig,
    frame: Frame,
    out: &mpsc::Sender<Vec<u8>>,
    streams: &mut HashMap<u64, StreamHandle>,
    tasks: &mut JoinSet<u64>,
) -> Result<(), RelayError> {
    let send =
        |bytes: Vec<u8>| async move { out.send(bytes).await.map_err(|_| RelayError::Closed) };
    match frame {
        Frame::Control { ping, progress } => {
            if let Some((sid, kib)) = progress
                && let Some(stream) = streams.get(&sid)
            {
                stream.delivered.send_replace(Some(kib));
            }
            if let Some(stamp) = ping {
                send(chunk::pong(&stamp)).await?;
            }
        }
        Frame::Eof { sid, read, write } => {
            if let Some(stream) = streams.get(&sid) {
                let _ = stream.to_local.send(ToLocal::Eof { read, write }).await;
            }
        }
        Frame::Data { sid, open, data } => {
            if !streams.contains_key(&sid) {
                let Some(open) = open else {
                    // Data for a stream that has ended here: close it there too.
                    return send(chunk::eof(sid, true, true)).await;
                };
                if open.proto != handshake::PROTO || open.host != config.kite {
                    warn!(sid, proto = %open.proto, "the relay opened a stream for another kite or protocol; refused");
                    return send(chunk::eof(sid, true, true)).await;
                }
                if streams.len() >= MAX_STREAMS {
                    warn!(sid, "too many relayed streams at once; refused one");
                    return send(chunk::eof(sid, true, true)).await;
                }
                streams.insert(sid, stream::spawn(tasks, sid, config.local, out.clone()));
            }
            if let Some(stream) = streams.get(&sid)
                && !data.is_empty()
            {
                let _ = stream.to_local.send(ToLocal::Data(data)).await;
            }
        }
    }
    Ok(())
}

/// Writes frames to the frontend in order, flushing when none are waiting.
async fn write_out(
    mut writer: OwnedWriteHalf,
    mut frames: mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    let mut batch = Vec::with_capacity(16);
    while frames.recv_many(&mut batch, 16).await > 0 {
        for frame in batch.drain(..) {
            writer.write_all(&frame).await?;
        }
    }
    Ok(())
}

/// Random bytes, for the salt and the signature's nonce. Without a system
/// random source (never seen) the time stands in: both only need to differ
/// between tries, not be secret.
fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (byte, from) in bytes.iter_mut().zip(nanos.to_le_bytes().iter().cycle()) {
            *byte = *from;
        }
    }
    bytes
}

fn unix_time() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
