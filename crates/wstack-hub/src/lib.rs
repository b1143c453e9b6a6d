//! Rooms and broadcast for WebSocket servers, over any wstack runtime (tokio, smol,
//! async-std): clients join and leave rooms; a message goes to everyone, to everyone but its
//! sender, or to one room. Each client has a bounded queue, and a slow client is closed or
//! loses its oldest messages, by configuration: a stalled reader never makes the hub grow.
//!
//! ```
//! use wstack_hub::{Hub, HubConfig, Message};
//!
//! let hub = Hub::new(HubConfig::default());
//! let alice = hub.register().unwrap();
//! let bob = hub.register().unwrap();
//! alice.join("kitchen").unwrap();
//! bob.join("kitchen").unwrap();
//!
//! // To every member of the room but the sender.
//! let delivered = alice.send_room("kitchen", &Message::Text("tea?".into()), false);
//! assert_eq!(delivered, 1);
//! assert_eq!(bob.try_next(), Some(Message::Text("tea?".into())));
//! assert_eq!(alice.try_next(), None);
//!
//! drop(bob); // leaving the hub frees its rooms
//! assert_eq!(hub.room_len("kitchen"), 1);
//! ```
//!
//! A server hands each accepted `WebSocketStream` to [`Member::run`], which writes the
//! client's queue to it and passes what the client sends to a callback.
//!
//! **Framed once.** A broadcast clones one [`Message`] per receiver: the payload is a shared
//! [`Bytes`](wstack_async::Bytes) (a reference count, no copy). A server connection does not
//! mask, so every uncompressed receiver writes those same payload bytes, preceded by the same
//! few header bytes, and payloads of 16 KiB and more go to the socket straight from the shared
//! buffer. Receivers with permessage-deflate compress for themselves (their compression
//! context is their own).
#![forbid(unsafe_code)]

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{Either, select};
use wstack_async::{Timer, WebSocketStream};

pub use wstack_async::{CloseCode, Message};

/// What the hub does with a client whose queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowPolicy {
    /// Close the client with this code: 1008 (policy violation) or 1013 (try again later).
    /// The default, with 1008: the client learns that it lost messages.
    Close(CloseCode),
    /// Drop the client's oldest queued messages until the new one fits. The client stays but
    /// misses messages.
    DropOldest,
}

/// Settings of a [`Hub`]. Every field has a safe default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubConfig {
    /// Bytes a client may have queued beyond the message being written (default 1 MiB). A
    /// message always fits an empty queue, whatever its size.
    pub queue_limit: usize,
    /// What happens when a message does not fit (default: close with 1008).
    pub policy: SlowPolicy,
    /// Clients at once (default 10,000); [`Hub::register`] refuses more.
    pub max_clients: usize,
    /// Rooms one client may be in (default 16).
    pub max_rooms_per_client: usize,
    /// Rooms in the hub (default 1,000). A room exists while it has members.
    pub max_rooms: usize,
    /// Longest room name in bytes (default 64).
    pub max_room_name: usize,
    /// How long [`Member::run`] waits for a client it closes to answer (default 2 s; it only
    /// applies when `run` is given a timer). A stalled client never answers.
    pub close_grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            queue_limit: 1 << 20,
            policy: SlowPolicy::Close(CloseCode::POLICY),
            max_clients: 10_000,
            max_rooms_per_client: 16,
            max_rooms: 1_000,
            max_room_name: 64,
            close_grace: Duration::from_secs(2),
        }
    }
}

/// Why the hub refused a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubError {
    /// [`HubConfig::max_clients`] clients are registered; try later (close with 1013).
    TooManyClients,
    /// The client is in [`HubConfig::max_rooms_per_client`] rooms; leave one first.
    TooManyRoomsForClient,
    /// The hub holds [`HubConfig::max_rooms`] rooms; no new room can open.
    TooManyRooms,
    /// The room name is empty or longer than [`HubConfig::max_room_name`].
    BadRoomName,
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooManyClients => "too many clients",
            Self::TooManyRoomsForClient => "too many rooms for this client",
            Self::TooManyRooms => "too many rooms",
            Self::BadRoomName => "empty or overlong room name",
        })
    }
}

impl std::error::Error for HubError {}

/// Which client of a hub; unique for the hub's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(u64);

impl ClientId {
    /// The number behind the id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A shared broadcast hub. Cloning gives another handle to the same hub.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

struct Shared {
    config: HubConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    clients: HashMap<ClientId, Client>,
    rooms: HashMap<String, BTreeSet<ClientId>>,
}

struct Client {
    queue: Arc<Mutex<Queue>>,
    rooms: Vec<String>,
}

#[derive(Default)]
struct Queue {
    messages: VecDeque<Message>,
    bytes: usize,
    dropped: u64,
    closing: Option<(CloseCode, String)>,
    waker: Option<Waker>,
}

/// Bytes a message takes in a queue: its payload and the largest frame header.
fn cost(msg: &Message) -> usize {
    let payload = match msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(_) => 125,
    };
    payload + 14
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves queues and room sets consistent (every update
    // is a single insert or remove), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Queue {
    /// Queues `msg` under `config`'s limit and policy. Returns whether it was queued.
    fn push(&mut self, msg: Message, config: &HubConfig) -> bool {
        if self.closing.is_some() {
            return false;
        }
        let size = cost(&msg);
        if !self.messages.is_empty() && self.bytes + size > config.queue_limit {
            match config.policy {
                SlowPolicy::DropOldest => {
                    while !self.messages.is_empty() && self.bytes + size > config.queue_limit {
                        if let Some(old) = self.messages.pop_front() {
                            self.bytes -= cost(&old);
                            self.dropped += 1;
                        }
                    }
                }
                SlowPolicy::Close(code) => {
                    self.close(code, "too slow: message queue full");
                    return false;
                }
            }
        }
        self.bytes += size;
        self.messages.push_back(msg);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
        true
    }

    fn close(&mut self, code: CloseCode, reason: &str) {
        if self.closing.is_none() {
            self.closing = Some((code, reason.to_owned()));
        }
        self.messages.clear();
        self.bytes = 0;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("Hub")
            .field("clients", &state.clients.len())
            .field("rooms", &state.rooms.len())
            .finish_non_exhaustive()
    }
}

/// Who receives a message.
#[derive(Clone, Copy, Debug)]
enum To<'a> {
    All,
    Room(&'a str),
}

impl Hub {
    /// An empty hub.
    pub fn new(config: HubConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The hub's settings.
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Adds a client. Dropping the [`Member`] removes it from the hub and its rooms.
    pub fn register(&self) -> Result<Member, HubError> {
        let mut state = lock(&self.shared.state);
        if state.clients.len() >= self.shared.config.max_clients {
            return Err(HubError::TooManyClients);
        }
        state.next_id += 1;
        let id = ClientId(state.next_id);
        let queue = Arc::new(Mutex::new(Queue::default()));
        state.clients.insert(
            id,
            Client {
                queue: Arc::clone(&queue),
                rooms: Vec::new(),
            },
        );
        Ok(Member {
            hub: Arc::downgrade(&self.shared),
            id,
            queue,
        })
    }

    /// Sends `msg` to every client; returns how many queued it.
    pub fn broadcast(&self, msg: &Message) -> usize {
        self.deliver(To::All, None, msg)
    }

    /// Sends `msg` to every member of `room`; returns how many queued it.
    pub fn broadcast_room(&self, room: &str, msg: &Message) -> usize {
        self.deliver(To::Room(room), None, msg)
    }

    /// Closes every client with `code` (as a server going away does with 1001).
    pub fn close_all(&self, code: CloseCode, reason: &str) {
        let state = lock(&self.shared.state);
        for c in state.clients.values() {
            lock(&c.queue).close(code, reason);
        }
    }

    /// Clients registered.
    pub fn len(&self) -> usize {
        lock(&self.shared.state).clients.len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rooms with at least one member.
    pub fn rooms(&self) -> usize {
        lock(&self.shared.state).rooms.len()
    }

    /// Members of `room` (0 when it does not exist).
    pub fn room_len(&self, room: &str) -> usize {
        lock(&self.shared.state)
            .rooms
            .get(room)
            .map_or(0, BTreeSet::len)
    }

    /// Bytes queued over all clients: what the hub holds for slow readers. It never exceeds
    /// `clients × (queue_limit + largest message)`.
    pub fn queued_bytes(&self) -> usize {
        let state = lock(&self.shared.state);
        state.clients.values().map(|c| lock(&c.queue).bytes).sum()
    }

    fn deliver(&self, to: To<'_>, except: Option<ClientId>, msg: &Message) -> usize {
        deliver(&self.shared, to, except, msg)
    }
}

fn deliver(shared: &Shared, to: To<'_>, except: Option<ClientId>, msg: &Message) -> usize {
    let state = lock(&shared.state);
    let mut n = 0;
    let mut push = |id: &ClientId, c: &Client| {
        if Some(*id) != except && lock(&c.queue).push(msg.clone(), &shared.config) {
            n += 1;
        }
    };
    match to {
        To::All => {
            for (id, c) in &state.clients {
                push(id, c);
            }
        }
        To::Room(room) => {
            if let Some(members) = state.rooms.get(room) {
                for id in members {
                    if let Some(c) = state.clients.get(id) {
                        push(id, c);
                    }
                }
            }
        }
    }
    n
}

/// One client of a [`Hub`]: joins and leaves rooms, sends, and receives its queue. Dropping
/// it removes the client from the hub and frees its rooms.
pub struct Member {
    hub: Weak<Shared>,
    id: ClientId,
    queue: Arc<Mutex<Queue>>,
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(shared) = self.hub.upgrade() else {
            return;
        };
        let mut state = lock(&shared.state);
        if let Some(client) = state.clients.remove(&self.id) {
            for room in client.rooms {
                if let Some(members) = state.rooms.get_mut(&room) {
                    members.remove(&self.id);
                    if members.is_empty() {
                        state.rooms.remove(&room);
                    }
                }
            }
        }
    }
}

/// What the callback of [`Member::run`] wants after a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Keep going.
    Continue,
    /// Close the client with this code and reason (at most 123 bytes).
    Close(CloseCode, String),
}

/// How [`Member::run`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// The client closed, or the connection failed.
    ByClient,
    /// The hub closed the client with this code (slow client, callback verdict, `close_all`).
    Closed(CloseCode),
}

impl Member {
    /// This client's id.
    pub fn id(&self) -> ClientId {
        self.id
    }

    fn shared(&self) -> Option<Arc<Shared>> {
        self.hub.upgrade()
    }

    /// Joins `room`, creating it if needed. Joining a room twice is not an error.
    pub fn join(&self, room: &str) -> Result<(), HubError> {
        let Some(shared) = self.shared() else {
            return Ok(());
        };
        let config = &shared.config;
        if room.is_empty() || room.len() > config.max_room_name {
            return Err(HubError::BadRoomName);
        }
        let mut state = lock(&shared.state);
        let state = &mut *state;
        let Some(client) = state.clients.get_mut(&self.id) else {
            return Ok(());
        };
        if client.rooms.iter().any(|r| r == room) {
            return Ok(());
        }
        if client.rooms.len() >= config.max_rooms_per_client {
            return Err(HubError::TooManyRoomsForClient);
        }
        if !state.rooms.contains_key(room) && state.rooms.len() >= config.max_rooms {
            return Err(HubError::TooManyRooms);
        }
        client.rooms.push(room.to_owned());
        state
            .rooms
            .entry(room.to_owned())
            .or_default()
            .insert(self.id);
        Ok(())
    }

    /// Leaves `room`; the room goes when its last member leaves.
    pub fn leave(&self, room: &str) {
        let Some(shared) = self.shared() else {
            return;
        };
        let mut state = lock(&shared.state);
        if let Some(client) = state.clients.get_mut(&self.id) {
            client.rooms.retain(|r| r != room);
        }
        if let Some(members) = state.rooms.get_mut(room) {
            members.remove(&self.id);
            if members.is_empty() {
                state.rooms.remove(room);
            }
        }
    }

    /// The rooms this client is in.
    pub fn rooms(&self) -> Vec<String> {
        self.shared()
            .and_then(|s| {
                lock(&s.state)
                    .clients
                    .get(&self.id)
                    .map(|c| c.rooms.clone())
            })
            .unwrap_or_default()
    }

    /// Sends to every client, this one included; returns how many queued it.
    pub fn broadcast(&self, msg: &Message) -> usize {
        self.shared().map_or(0, |s| deliver(&s, To::All, None, msg))
    }

    /// Sends to every client but this one.
    pub fn broadcast_others(&self, msg: &Message) -> usize {
        self.shared()
            .map_or(0, |s| deliver(&s, To::All, Some(self.id), msg))
    }

    /// Sends to the members of `room`, this client included or not.
    pub fn send_room(&self, room: &str, msg: &Message, include_self: bool) -> usize {
        let except = (!include_self).then_some(self.id);
        self.shared()
            .map_or(0, |s| deliver(&s, To::Room(room), except, msg))
    }

    /// Queues a message for this client only (a reply).
    pub fn send_self(&self, msg: Message) -> bool {
        match self.shared() {
            Some(s) => lock(&self.queue).push(msg, &s.config),
            None => false,
        }
    }

    /// Asks [`run`](Self::run) to close this client with `code`.
    pub fn close(&self, code: CloseCode, reason: &str) {
        lock(&self.queue).close(code, reason);
    }

    /// Takes the next queued message, if any.
    pub fn try_next(&self) -> Option<Message> {
        let mut q = lock(&self.queue);
        let msg = q.messages.pop_front()?;
        q.bytes -= cost(&msg);
        Some(msg)
    }

    /// Bytes queued for this client.
    pub fn queued_bytes(&self) -> usize {
        lock(&self.queue).bytes
    }

    /// Messages this client lost to [`SlowPolicy::DropOldest`].
    pub fn dropped(&self) -> u64 {
        lock(&self.queue).dropped
    }

    /// Waits for queued messages (up to `max` at once) or the order to close.
    async fn next_batch(&self, max: usize) -> Result<Vec<Message>, (CloseCode, String)> {
        poll_fn(|cx| {
            let mut q = lock(&self.queue);
            if let Some(c) = &q.closing {
                return Poll::Ready(Err(c.clone()));
            }
            if q.messages.is_empty() {
                q.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let n = q.messages.len().min(max);
            let batch: Vec<Message> = q.messages.drain(..n).collect();
            q.bytes -= batch.iter().map(cost).sum::<usize>();
            Poll::Ready(Ok(batch))
        })
        .await
    }

    /// Waits for the order to close (a full queue, [`close`](Self::close), `close_all`).
    async fn closing(&self) -> (CloseCode, String) {
        poll_fn(|cx| {
            let mut q = lock(&self.queue);
            if let Some(c) = &q.closing {
                return Poll::Ready(c.clone());
            }
            q.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Serves this client on `ws` until it ends: writes its queue to it (batched, one flush
    /// per batch), and hands each message the client sends to `on_message` (pings, pongs and
    /// the close frame are answered by the engine and not passed on). Closes the client when
    /// the hub says so (slow client, [`close`](Self::close)) or `on_message` returns
    /// [`Verdict::Close`]; with a `timer`, a client that does not answer the close within
    /// [`HubConfig::close_grace`] is dropped.
    pub async fn run<S, F>(
        &self,
        ws: WebSocketStream<S>,
        timer: Option<Arc<dyn Timer>>,
        mut on_message: F,
    ) -> Ended
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnMut(&Member, Message) -> Verdict,
    {
        let (mut tx, mut rx) = ws.split();
        let reader = async {
            while let Some(Ok(msg)) = rx.recv().await {
                if matches!(msg, Message::Text(_) | Message::Binary(_)) {
                    if let Verdict::Close(code, reason) = on_message(self, msg) {
                        self.close(code, &reason);
                    }
                }
            }
        };
        let writer = async {
            let (code, reason) = loop {
                let batch = match self.next_batch(64).await {
                    Ok(b) => b,
                    Err(c) => break c,
                };
                let write = async {
                    for m in batch {
                        tx.feed(m).await?;
                    }
                    tx.flush().await
                };
                // A write stalled by a client that does not read gives way to the close.
                match select(pin!(write), pin!(self.closing())).await {
                    Either::Left((Ok(()), _)) => {}
                    Either::Left((Err(_), _)) => return None,
                    Either::Right((c, _)) => break c,
                }
            };
            let grace = self
                .shared()
                .map_or(Duration::from_secs(2), |s| s.config.close_grace);
            let close = tx.close(code, &reason);
            match &timer {
                Some(t) => {
                    let mut sleep = t.sleep_until(t.now() + grace);
                    let _ = select(pin!(close), poll_fn(|cx| sleep.as_mut().poll_sleep(cx))).await;
                }
                None => {
                    let _ = close.await;
                }
            }
            Some(code)
        };
        match select(pin!(reader), pin!(writer)).await {
            Either::Left(((), _)) => {
                // The client is gone; a close order may have come first.
                let q = lock(&self.queue);
                q.closing
                    .as_ref()
                    .map_or(Ended::ByClient, |(code, _)| Ended::Closed(*code))
            }
            Either::Right((Some(code), _)) => Ended::Closed(code),
            Either::Right((None, _)) => Ended::ByClient,
        }
    }
}
