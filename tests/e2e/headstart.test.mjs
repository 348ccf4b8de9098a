// The head-start route end to end under `wrangler dev`, on the scripted
// model and the self-hosted platform: every response body is read by the AI
// SDK's own parser, and `.out` must hold exactly what the browser got. The
// shared scenarios (tests/js/scenarios.mjs) first, then the worker's own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWrangler } from "./wrangler.mjs";
import { readUiStream } from "../js/ui-stream.mjs";
import { postJson, scenarios } from "../js/scenarios.mjs";

const SECRET = "tr_dev_headstart_local";
let worker;

before(async () => {
  worker = await startWrangler({
    vars: {
      HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2", HEADSTART_STALL_TIMEOUT_MS: "800", HEADSTART_MAX_ATTEMPTS: "1",
      HEADSTART_ALLOWED_ORIGINS: "https://app.example",
    },
  });
});
after(async () => {
  await worker?.stop();
});

const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });
let n = 0;
const chatId = (name) => `hs_${name}_${process.pid}_${++n}`;

const post = (path, body, init) => postJson(`${worker.url}${path}`, body, init);

async function headStart(id, text) {
  const res = await post("/api/chat", { headStartMessages: [user("u1", text)], chatId: id, trigger: "submit-message" });
  if (res.status !== 200) assert.fail(`${res.status}: ${await res.text()}`);
  assert.equal(res.headers.get("x-vercel-ai-ui-message-stream"), "v1");
  assert.match(res.headers.get("content-type"), /text\/event-stream/);
  assert.ok(res.headers.get("x-trigger-chat-access-token")?.split(".").length === 3, "a JWT access token header");
  return { res, ...(await readUiStream(res.body, { terminateOnError: false })) };
}

async function records(id, io) {
  const res = await fetch(`${worker.url}/realtime/v1/sessions/${encodeURIComponent(id)}/${io}/records`, {
    headers: { authorization: `Bearer ${SECRET}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).records;
}

/** `.out` must hold exactly the chunks the browser got, in order, once. */
async function assertOutMatches(id, chunks) {
  const out = await records(id, "out");
  const data = out.filter((r) => !(r.headers ?? []).some(([n]) => n === "trigger-control")).map((r) => r.data);
  const sent = chunks.filter((c) => !c.type.startsWith("trigger:"));
  assert.deepEqual(data, sent);
  const state = chunks.at(-1);
  assert.equal(state.type, "trigger:session-state");
  assert.equal(state.lastEventId, String(out.at(-1).seqNum), "the session state points at the turn-complete");
  assert.equal(chunks.at(-2).type, "trigger:turn-complete");
}


test("pure text turn: step 1 is the answer, the agent persists it; it streams", async () => {
  await scenarios({ url: worker.url, platformUrl: worker.url, name: "hs" }).text({ minSpreadMs: 20 });
});

test("one tool call: the agent runs it and step 2 is spliced under the same message id", async () => {
  const { id, message } = await scenarios({ url: worker.url, platformUrl: worker.url, name: "hs" }).tool();
  const transcript = await (await fetch(`${worker.url}/api/chats/${id}/messages`, { headers: { authorization: `Bearer ${SECRET}` } })).json();
  assert.deepEqual(transcript.map((m) => m.role), ["user", "assistant"]);
  assert.equal(transcript[1].id, message.id);
});

test("two parallel tool calls", async () => {
  const id = chatId("parallel");
  const { message, chunks } = await headStart(id, "What's the weather in Paris and Tokyo?");
  const tools = message.parts.filter((p) => p.type === "tool-get_weather");
  assert.deepEqual(tools.map((t) => [t.input.city, t.state]), [["Paris", "output-available"], ["Tokyo", "output-available"]]);
  const handover = JSON.parse((await records(id, "in"))[0].data);
  assert.deepEqual(handover.partialAssistantMessage.at(-1).content.map((c) => c.approvalId), ["handover-approval-1", "handover-approval-2"]);
  await assertOutMatches(id, chunks);
});

test("a provider error mid-step ends well-formed and the agent still completes the turn", async () => {
  const id = chatId("error");
  const { chunks } = await headStart(id, "Tell me a long story please [fault:error]");
  const types = chunks.map((c) => c.type);
  assert.ok(types.includes("error"));
  assert.deepEqual(types.slice(-4), ["finish-step", "finish", "trigger:turn-complete", "trigger:session-state"]);
  assert.equal(chunks.find((c) => c.type === "finish").finishReason, "error");
  await assertOutMatches(id, chunks);
});

test("a stalled step 1 ends the response without a turn and the agent gets handover-skip", async () => {
  const id = chatId("stall");
  const { chunks } = await headStart(id, "Tell me a long story please [fault:stall]");
  const types = chunks.map((c) => c.type);
  assert.deepEqual(types.slice(-3), ["error", "finish-step", "finish"]);
  assert.ok(!types.some((t) => t.startsWith("trigger:")), "no turn-complete after a skip");
  const ins = (await records(id, "in")).map((r) => JSON.parse(r.data).kind);
  assert.deepEqual(ins, ["handover-skip"]);
});

test("a client that disconnects mid-step makes the agent get handover-skip", async () => {
  await scenarios({ url: worker.url, platformUrl: worker.url, name: "hs" }).disconnect();
});

test("bad input gets a 4xx JSON error and no session", async () => {
  await scenarios({ url: worker.url, platformUrl: worker.url, name: "hs" }).badInput();
});

test("every chat route caps a chunked body (413), and an empty conversation is refused (400)", async () => {
  await scenarios({ url: worker.url, platformUrl: worker.url, name: "hs" }).badBodies();
});

test("start and token routes give the transport its session and tokens", async () => {
  const id = chatId("start");
  const res = await post("/api/chat/start", { chatId: id, clientData: { userId: "u_1" } });
  assert.equal(res.status, 200);
  const started = await res.json();
  assert.match(started.sessionId, /^session_/);
  assert.match(started.runId, /^run_/);
  const token = await (await post("/api/chat/token", { chatId: id })).json();
  for (const pat of [started.publicAccessToken, token.publicAccessToken]) {
    const read = await fetch(`${worker.url}/realtime/v1/sessions/${id}/out/records`, { headers: { authorization: `Bearer ${pat}` } });
    assert.equal(read.status, 200);
  }
  assert.equal((await post("/api/chat/token", { chatId: "" })).status, 400);
});

test("detached head start: step 1 is drained into .out and the chat resumes from there", async () => {
  const id = chatId("detached");
  const res = await post("/api/chat/detached", { headStartMessages: [user("u1", "What's the weather in Lyon?")], chatId: id });
  assert.equal(res.status, 200);
  const { chatId: got, publicAccessToken } = await res.json();
  assert.equal(got, id);
  const sse = await fetch(`${worker.url}/realtime/v1/sessions/${id}/out`, {
    headers: { authorization: `Bearer ${publicAccessToken}`, "timeout-seconds": "10" },
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(sse.headers.get("x-stream-version"), "v2");
  const text = await readUntil(sse.body, "turn-complete");
  const chunks = text
    .split("\n\n")
    .filter((f) => f.startsWith("event: batch"))
    .flatMap((f) => JSON.parse(f.split("\ndata: ")[1]).records)
    .filter((r) => !(r.headers ?? []).length)
    .map((r) => JSON.parse(r.body).data);
  const types = chunks.map((c) => c.type);
  assert.equal(types.filter((t) => t === "start").length, 2);
  assert.ok(types.includes("tool-output-available"));
  assert.equal(types.at(-1), "finish");
});

async function readUntil(body, marker) {
  const reader = body.getReader();
  let text = "";
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  return text;
}

test("headers: Server-Timing for the session create (and an earlier model first byte), CORS only for allowed origins", async () => {
  for (const [origin, allowed] of [["https://app.example", true], ["https://evil.example", false]]) {
    const res = await post("/api/chat", { headStartMessages: [user("u1", "hi")], chatId: chatId("cors") }, { headers: { "content-type": "application/json", origin } });
    assert.equal(res.status, 200);
    // The model's first byte too when it came before the session.
    assert.match(res.headers.get("server-timing"), /^session;desc="session create";dur=\d+(\.\d)?(, model;desc="model first byte";dur=\d+(\.\d)?)?$/);
    assert.equal(res.headers.get("access-control-allow-origin"), allowed ? origin : null);
    if (allowed) assert.match(res.headers.get("access-control-expose-headers"), /X-Trigger-Chat-Access-Token/);
    await res.body.cancel();
  }
});

test("every turn logs one JSON line of timings", async () => {
  const id = chatId("timing");
  await headStart(id, "What's the weather in Madrid?");
  const deadline = Date.now() + 3000;
  let line;
  while (!line && Date.now() < deadline) {
    line = worker.log().split("\n").map((l) => l.match(/\{"event":"headstart\.turn".*\}/)?.[0]).filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.chatId === id);
    if (!line) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(line, "a headstart.turn log line");
  assert.equal(line.decision, "handover");
  for (const key of ["sessionCreatedMs", "providerTtfbMs", "firstChunkOutMs", "stepEndMs", "handoverMs", "firstAgentChunkMs", "turnCompleteMs"]) {
    assert.equal(typeof line[key], "number", key);
  }
  assert.ok(line.providerTtfbMs >= 20, "the scripted model's 20 ms to first token");
  assert.ok(line.firstChunkOutMs >= line.sessionCreatedMs && line.turnCompleteMs >= line.firstAgentChunkMs);
});

