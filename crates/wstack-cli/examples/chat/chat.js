// A small chat over `wstack hub`: {"join": room} joins, {"room": r, "msg": m} talks to a room.
// Everything the page shows goes through textContent: peers cannot inject markup.
"use strict";

const log = document.getElementById("log");
const status = document.getElementById("status");
let room = "lobby";

function show(text, cls) {
  const line = document.createElement("div");
  line.textContent = text;
  if (cls) line.className = cls;
  log.appendChild(line);
  log.scrollTop = log.scrollHeight;
}

const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const ws = new WebSocket(scheme + location.host + "/");

// The page's state, for people and for the browser test alike.
const chat = (window.chat = {
  ws,
  received: [],
  closeCode: null,
  closeReason: null,
  ready: new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(ws.extensions));
    ws.addEventListener("error", () => reject(new Error("connection failed")));
  }),
  closed: new Promise((resolve) => {
    ws.addEventListener("close", (e) => resolve(e.code));
  }),
  join(r) {
    room = r;
    ws.send(JSON.stringify({ join: r }));
  },
  say(r, msg) {
    ws.send(JSON.stringify({ room: r, msg }));
  },
  send(raw) {
    ws.send(raw);
  },
  // Resolves once a message equal to `text` has arrived (or rejects after `ms`).
  waitFor(text, ms = 5000) {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      (function check() {
        if (chat.received.includes(text)) return resolve(true);
        if (Date.now() - t0 > ms) return reject(new Error("timed out waiting for " + text.slice(0, 40)));
        setTimeout(check, 20);
      })();
    });
  },
});

ws.addEventListener("open", () => {
  status.textContent = "connected" + (ws.extensions ? " (" + ws.extensions + ")" : "");
  chat.join(room);
});
ws.addEventListener("message", (e) => {
  const text = typeof e.data === "string" ? e.data : "[binary]";
  chat.received.push(text);
  show(text);
});
ws.addEventListener("close", (e) => {
  chat.closeCode = e.code;
  chat.closeReason = e.reason;
  status.textContent = "closed: " + e.code + (e.reason ? " " + e.reason : "");
  show("connection closed (" + e.code + ")", "sys");
});

document.getElementById("join").addEventListener("submit", (e) => {
  e.preventDefault();
  chat.join(e.target.room.value);
  show("joined " + e.target.room.value, "sys");
});
document.getElementById("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = e.target.text;
  if (input.value) chat.say(room, input.value);
  input.value = "";
});
