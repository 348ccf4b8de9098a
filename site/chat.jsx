// The chat page: the AI SDK's `useChat` over the real TriggerChatTransport
// with `headStart: "/api/chat"`. A chat's first message takes the head
// start (step 1 in the worker while the agent boots), later ones go straight
// to the session. The transport's session state and the messages are kept
// in localStorage, so a reload resumes a turn in flight and shows the
// history, and a second tab on the same chat follows along. Each answer
// carries its timeline (the agent writes it as message metadata when
// `clientData.headstartTimeline` asks), drawn under it with the browser's
// own marks.
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import { useChat } from "@ai-sdk/react";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import * as store from "./store.js";
import { TIMELINE_CSS, timelineModel, timelineSvg } from "./timeline.js";

const post = async (path, body) => {
  const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

// The browser's marks of the turn in flight, per chat, from the
// transport's events; kept per answer once the turn ends.
const inFlight = new Map();
const marksOf = (chatId) => {
  if (!inFlight.has(chatId)) inFlight.set(chatId, {});
  return inFlight.get(chatId);
};

// Set while this tab adopts another tab's session state, which must not be
// written back over the original.
let adopting = false;

const transport = new TriggerChatTransport({
  task: "headstart-agent",
  baseURL: location.origin,
  headStart: "/api/chat",
  // Timelines for every answer; a head start that outlives a reload.
  clientData: { headstartTimeline: true, headstartResumable: true },
  sessions: store.loadSessions(),
  onSessionChange: (chatId, session) => {
    if (!adopting) store.saveSession(chatId, session);
  },
  onEvent: (event) => {
    const m = marksOf(event.chatId);
    if (event.type === "message-sent" && event.source !== "stop") {
      inFlight.set(event.chatId, { sentAt: event.timestamp - event.durationMs, path: event.source === "head-start" ? "head-start" : "direct" });
      if (event.source === "head-start") inFlight.get(event.chatId).responseAt = event.timestamp;
    } else if (event.type === "turn-completed") {
      m.doneAt ??= event.timestamp;
    }
  },
  accessToken: async ({ chatId }) => (await post("/api/chat/token", { chatId })).publicAccessToken,
  startSession: ({ chatId, clientData }) => post("/api/chat/start", { chatId, clientData }),
});

// The head start's Server-Timing, read from the resource timing entry of
// the POST (it lands when the response ends).
const serverTimings = [];
if (typeof PerformanceObserver !== "undefined") {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (new URL(entry.name).pathname === "/api/chat" && entry.serverTiming?.length) {
        serverTimings.push(Object.fromEntries(entry.serverTiming.map((t) => [t.name, t.duration])));
      }
    }
  }).observe({ type: "resource", buffered: true });
}

// A head start's response ends with the turn's `.out` cursor; when useChat
// stops reading it early (an `error` chunk ends its read) the transport has
// no cursor, and the next turn would replay this one from `.out`. The
// cursor is then taken from the turn's turn-complete on `.out` (this
// worker's records route), waited for at most 15 s; a send waits for it.
const settling = new Map();
function settleCursor(chatId) {
  const run = async () => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const session = transport.getSession(chatId);
      if (!session || session.lastEventId !== undefined) return;
      const res = await fetch(`/realtime/v1/sessions/${encodeURIComponent(chatId)}/out/records`, {
        headers: { authorization: `Bearer ${session.publicAccessToken}` },
      }).catch(() => undefined);
      if (res?.ok) {
        const { records } = await res.json();
        const done = records.findLast((r) => (r.headers ?? []).some(([k, v]) => k === "trigger-control" && v === "turn-complete"));
        if (done) return transport.seedResumeCursor(chatId, String(done.seqNum));
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const pending = run().finally(() => settling.delete(chatId));
  settling.set(chatId, pending);
}

function useHashChat() {
  const subscribe = useCallback((cb) => {
    window.addEventListener("hashchange", cb);
    return () => window.removeEventListener("hashchange", cb);
  }, []);
  const hash = useSyncExternalStore(subscribe, () => location.hash.slice(1));
  useEffect(() => {
    if (hash) return;
    // No chat named: the latest one, or a new one.
    history.replaceState(null, "", `#${store.listChats()[0]?.id ?? store.newChatId()}`);
    dispatchEvent(new HashChangeEvent("hashchange"));
  }, [hash]);
  return hash;
}

function App() {
  const chatId = useHashChat();
  const [chats, setChats] = useState(store.listChats);
  useEffect(() => {
    const refresh = () => setChats(store.listChats());
    window.addEventListener("storage", refresh);
    window.addEventListener("headstart:chats", refresh);
    return () => {
      window.removeEventListener("storage", refresh);
      window.removeEventListener("headstart:chats", refresh);
    };
  }, []);
  if (!chatId) return null;
  return (
    <div className="layout">
      <nav className="chats" aria-label="chats">
        <button id="new-chat" type="button" onClick={() => (location.hash = store.newChatId())}>New chat</button>
        <ul>
          {chats.map((c) => (
            <li key={c.id} className={c.id === chatId ? "current" : ""}>
              <a href={`#${c.id}`}>{c.title}</a>
            </li>
          ))}
        </ul>
        <p className="links"><a href="/status">status</a></p>
      </nav>
      <Chat key={chatId} chatId={chatId} />
    </div>
  );
}

/** The messages to start from: after a reload in the middle of a turn, the
 *  partial answer goes, since the resumed stream replays the turn. */
function initialMessages(chatId, resuming) {
  const messages = store.loadMessages(chatId);
  if (!resuming) return messages;
  const lastUser = messages.findLastIndex((m) => m.role === "user");
  return messages.slice(0, lastUser + 1);
}

function Chat({ chatId }) {
  const resuming = useMemo(() => !!store.loadSession(chatId)?.isStreaming, [chatId]);
  const initial = useMemo(() => initialMessages(chatId, resuming), [chatId, resuming]);
  const { messages, sendMessage, status, error, stop, setMessages } = useChat({ id: chatId, transport, messages: initial, resume: resuming });
  const [elsewhere, setElsewhere] = useState(false);
  // Bumped when an answer's browser marks are kept, to draw them.
  const [, setMarksKept] = useState(0);
  const [stopped, setStopped] = useState(() => new Set(messages.filter((m) => store.loadMarks(m.id)?.stopped).map((m) => m.id)));
  const busy = status === "submitted" || status === "streaming";
  const busyRef = useRef(busy);
  busyRef.current = busy;

  // Keep the messages (another tab reads them) and the chat in the list.
  useEffect(() => {
    if (messages.length === 0) return;
    store.saveMessages(chatId, messages);
    const first = messages.find((m) => m.role === "user")?.parts.find((p) => p.type === "text")?.text;
    store.touchChat(chatId, first?.slice(0, 60));
    window.dispatchEvent(new Event("headstart:chats"));
  }, [chatId, messages]);

  // The first content of the answer on screen (the transport's own
  // first-chunk event counts the `start` chunk, which the head start sends
  // as soon as the session exists).
  useEffect(() => {
    const last = messages.at(-1);
    if (!busy || last?.role !== "assistant") return;
    if (last.parts.some((p) => (p.type === "text" && p.text) || p.type.startsWith("tool-") || p.type === "reasoning")) {
      marksOf(chatId).firstChunkAt ??= Date.now();
    }
  }, [busy, chatId, messages]);

  // The turn ended: its browser marks go with its answer.
  const wasBusy = useRef(false);
  useEffect(() => {
    if (busy) {
      wasBusy.current = true;
      return;
    }
    if (!wasBusy.current) return;
    wasBusy.current = false;
    // The answer to the last message, if one came.
    const answer = messages.at(-1)?.role === "assistant" ? messages.at(-1) : undefined;
    const marks = inFlight.get(chatId);
    // (A stop arms the transport's own gate, which skips the stopped turn.)
    if (marks?.path === "head-start" && !marks.stopped && transport.getSession(chatId)?.lastEventId === undefined) settleCursor(chatId);
    if (answer && marks?.sentAt) {
      marks.doneAt ??= Date.now();
      if (marks.path === "head-start" && serverTimings.length) marks.serverTiming = serverTimings.at(-1);
      store.saveMarks(answer.id, { ...store.loadMarks(answer.id), ...marks });
      inFlight.delete(chatId);
      setMarksKept((n) => n + 1);
    }
  }, [busy, chatId, messages]);

  // Another tab's writes: its messages while this one is idle, its session
  // state so this transport continues from where that one left off.
  useEffect(() => {
    const onStorage = (e) => {
      if (e.key === store.KEY.messages(chatId) && e.newValue && !busyRef.current) {
        setMessages(JSON.parse(e.newValue));
      } else if (e.key === store.KEY.session(chatId) && e.newValue && !busyRef.current) {
        const session = JSON.parse(e.newValue);
        adopting = true;
        try {
          transport.setSession(chatId, { ...session, isStreaming: false });
        } finally {
          adopting = false;
        }
        setElsewhere(!!session.isStreaming);
      }
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, [chatId, setMessages]);

  const onStop = async () => {
    const answer = messages.at(-1)?.role === "assistant" ? messages.at(-1) : undefined;
    const marks = marksOf(chatId);
    marks.stopped = true;
    // The stop goes to `.in` first, then the head start's response is
    // dropped: the edge, its client gone, finds the stop there and drops
    // step 1 (without it, as after a reload, the turn would go on).
    await transport.stopGeneration(chatId).catch(() => false);
    await stop();
    marks.doneAt ??= Date.now();
    if (answer) setStopped((s) => new Set(s).add(answer.id));
  };

  const onSubmit = (e) => {
    e.preventDefault();
    const input = e.currentTarget.elements.input;
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    (settling.get(chatId) ?? Promise.resolve()).then(() => sendMessage({ text }));
  };

  return (
    <main className="chat">
      <header>
        <h1>headstart</h1>
        <p className="intro">
          Ask about the weather in a city, for a calculation, or anything else. The first message takes the head start
          (step 1 in the worker while the agent boots); later ones go straight to the agent. Offline on the scripted model
          unless an API key is set.
        </p>
      </header>
      <div id="log" aria-live="polite">
        {messages.map((m) => (
          <Message key={m.id} message={m} stopped={stopped.has(m.id)} live={busy && m === messages.at(-1)} />
        ))}
        {error && <div className="msg error" role="alert">{error.message}</div>}
        {elsewhere && !busy && <p className="note">A turn is running in another tab.</p>}
      </div>
      <form id="form" onSubmit={onSubmit}>
        <input id="input" name="input" autoComplete="off" placeholder="What's the weather in Paris?" autoFocus />
        {busy ? (
          <button id="stop" type="button" onClick={onStop}>Stop</button>
        ) : (
          <button id="send" type="submit">Send</button>
        )}
      </form>
      <p className="status" id="chat-status" data-status={status}>{status}</p>
    </main>
  );
}

function Message({ message, stopped, live }) {
  const server = message.metadata?.headstart;
  const browser = live ? undefined : store.loadMarks(message.id);
  const wasStopped = stopped || server?.agent?.stopped || browser?.stopped;
  return (
    <div className={`msg ${message.role}`} data-id={message.id}>
      {message.parts.map((part, i) => (
        <Part key={i} part={part} />
      ))}
      {message.role === "assistant" && wasStopped && <p className="stopped">stopped</p>}
      {message.role === "assistant" && !live && (server || browser?.sentAt) && <Timeline server={server} browser={browser} />}
    </div>
  );
}

function Part({ part }) {
  if (part.type === "text") return <p className="text">{part.text}</p>;
  if (part.type === "reasoning") {
    return (
      <details className="reasoning" open={part.state === "streaming"}>
        <summary>reasoning</summary>
        <p>{part.text}</p>
      </details>
    );
  }
  if (part.type.startsWith("tool-") || part.type === "dynamic-tool") {
    const name = part.type === "dynamic-tool" ? part.toolName : part.type.slice(5);
    const result =
      part.state === "output-available" ? ` → ${JSON.stringify(part.output)}` : part.state === "output-error" ? ` → ${part.errorText}` : "";
    return (
      <div className={`tool ${part.state}`} data-tool={name} data-state={part.state}>
        <code>{`${name}(${JSON.stringify(part.input ?? {})})${result}`}</code>
        <span className="state">{part.state.replace("-", " ")}</span>
      </div>
    );
  }
  return null;
}

function Timeline({ server, browser }) {
  const model = timelineModel(server, browser?.sentAt ? browser : undefined);
  const ms = (a, b) => (typeof a === "number" && typeof b === "number" ? `${Math.round(b - a)} ms` : "–");
  const st = browser?.serverTiming;
  return (
    <figure className="turn-timeline" data-path={model.path}>
      <div dangerouslySetInnerHTML={{ __html: timelineSvg(model) }} />
      <figcaption>
        {model.path === "head-start" ? "head start" : "direct"}
        {browser?.sentAt ? `: first chunk at the browser ${ms(browser.sentAt, browser.firstChunkAt)}, turn ${ms(browser.sentAt, browser.doneAt)}` : ""}
        {st ? ` · Server-Timing: session create ${Math.round(st.session)} ms${st.model !== undefined ? `, model first byte ${Math.round(st.model)} ms` : ""}` : ""}
      </figcaption>
    </figure>
  );
}

const style = document.createElement("style");
style.textContent = TIMELINE_CSS;
document.head.append(style);
createRoot(document.getElementById("root")).render(<App />);
