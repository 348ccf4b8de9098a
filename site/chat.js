// The chat page's script: the AI SDK's message assembly and the real
// TriggerChatTransport with `headStart: "/api/chat"`. The first message of a
// chat takes the head start; later ones go straight to the session.
import { readUIMessageStream } from "ai";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";

const $ = (id) => document.getElementById(id);
const chatId = `chat_${crypto.randomUUID()}`;
const history = [];

const post = async (path, body) => {
  const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

const transport = new TriggerChatTransport({
  task: "headstart-agent",
  baseURL: location.origin,
  headStart: "/api/chat",
  accessToken: async ({ chatId }) => (await post("/api/chat/token", { chatId })).publicAccessToken,
  startSession: ({ chatId, clientData }) => post("/api/chat/start", { chatId, clientData }),
});

function render(message, el) {
  el.innerHTML = "";
  for (const part of message.parts) {
    if (part.type === "text") {
      const p = document.createElement("p");
      p.textContent = part.text;
      el.append(p);
    } else if (part.type.startsWith("tool-")) {
      const p = document.createElement("p");
      p.className = "tool";
      const out = part.state === "output-available" ? ` → ${JSON.stringify(part.output)}` : part.state === "output-error" ? ` → ${part.errorText}` : " …";
      p.textContent = `${part.type.slice(5)}(${JSON.stringify(part.input ?? {})})${out}`;
      el.append(p);
    }
  }
}

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  if (text) div.textContent = text;
  $("log").append(div);
  return div;
}

async function send(text) {
  const message = { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] };
  history.push(message);
  bubble("user", text);
  const el = bubble("assistant", "…");
  const timing = document.createElement("div");
  timing.className = "timing";
  const t0 = performance.now();
  let first;
  const path = history.length === 1 ? "head start" : "direct";
  const stream = await transport.sendMessages({ trigger: "submit-message", chatId, messageId: undefined, messages: history, abortSignal: undefined });
  const timed = stream.pipeThrough(
    new TransformStream({
      transform(chunk, c) {
        if (first === undefined && chunk.type === "text-delta") first = performance.now() - t0;
        c.enqueue(chunk);
      },
    }),
  );
  let last;
  for await (const m of readUIMessageStream({ stream: timed })) {
    last = m;
    render(m, el);
  }
  if (last) history.push(last);
  timing.textContent = `${path}: first text ${first?.toFixed(0) ?? "–"} ms, turn ${(performance.now() - t0).toFixed(0)} ms`;
  el.after(timing);
}

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("input").value.trim();
  if (!text) return;
  $("input").value = "";
  $("send").disabled = true;
  try {
    await send(text);
  } catch (err) {
    bubble("error", String(err));
  } finally {
    $("send").disabled = false;
    $("input").focus();
  }
});
