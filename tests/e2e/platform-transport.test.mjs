// The real browser transport, `TriggerChatTransport` from @trigger.dev/sdk
// 4.8.3, against the self-hosted platform under `wrangler dev`, driven the
// way the AI SDK's `Chat` drives it (PROTOCOL.md §6, §8): preload, then
// three turns on the scripted model, each read with `readUIMessageStream`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { readUIMessageStream, uiMessageChunkSchema } from "ai";
import { startWrangler } from "./wrangler.mjs";
import { SECRET, FAST_MODEL, preloadBody, userMessage } from "./platform.mjs";

let worker;

before(async () => {
  worker = await startWrangler({ vars: FAST_MODEL });
});
after(async () => {
  await worker?.stop();
});

/** The customer's server action (§8.2): creates the session with the secret key. */
async function createSession(chatId, clientData) {
  const res = await fetch(`${worker.url}/api/v1/sessions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json", "x-trigger-source": "sdk" },
    body: JSON.stringify(preloadBody(chatId, clientData)),
    signal: AbortSignal.timeout(20_000),
  });
  assert.ok(res.status === 201 || res.status === 200, `POST /api/v1/sessions: ${res.status}`);
  return res.json();
}

/** One `Chat` turn: sendMessages, then the AI SDK assembles the assistant message. */
async function turn(transport, chatId, messages) {
  const abortSignal = AbortSignal.timeout(30_000);
  const stream = await transport.sendMessages({ chatId, messages, trigger: "submit-message", messageId: undefined, abortSignal });
  const chunks = [];
  const schema = uiMessageChunkSchema();
  const checked = stream.pipeThrough(
    new TransformStream({
      async transform(chunk, controller) {
        const result = await schema.validate(chunk);
        if (!result.success) throw new Error(`chunk rejected by the AI SDK schema: ${JSON.stringify(chunk)}`);
        chunks.push(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  let message;
  for await (const m of readUIMessageStream({ stream: checked, terminateOnError: true })) message = m;
  assert.ok(!abortSignal.aborted, "the turn timed out");
  assert.ok(message, "no assistant message");
  return { chunks, message };
}

const texts = (message) => message.parts.filter((p) => p.type === "text").map((p) => p.text);

test("TriggerChatTransport: preload, three turns (text, tool call, text), then the transcript", { timeout: 120_000 }, async () => {
  const chatId = "transport-chat";
  const starts = [];
  const tokenCalls = [];
  const events = [];
  const transport = new TriggerChatTransport({
    task: "my-chat",
    baseURL: worker.url,
    clientData: { userId: "user_42" },
    startSession: async ({ chatId: id, taskId, clientData }) => {
      starts.push({ id, taskId, clientData });
      const created = await createSession(id, clientData);
      return { publicAccessToken: created.publicAccessToken };
    },
    accessToken: async ({ chatId: id }) => {
      tokenCalls.push(id);
      return (await createSession(id)).publicAccessToken;
    },
    onEvent: (e) => events.push(e),
  });

  await transport.preload(chatId);
  await transport.preload(chatId); // idempotent: the transport holds the token now
  assert.deepEqual(starts, [{ id: chatId, taskId: "my-chat", clientData: { userId: "user_42" } }]);

  const u1 = userMessage("user-msg-1", "hello");
  const t1 = await turn(transport, chatId, [u1]);
  assert.equal(t1.message.role, "assistant");
  assert.deepEqual(texts(t1.message), ["Hello! I am the scripted model. Ask me about the weather in a city, or for a calculation."]);

  const u2 = userMessage("user-msg-2", "What's the weather in Paris?");
  const t2 = await turn(transport, chatId, [u1, t1.message, u2]);
  const tool = t2.message.parts.find((p) => p.type === "tool-get_weather");
  assert.ok(tool, `no tool-get_weather part: ${JSON.stringify(t2.message.parts)}`);
  assert.equal(tool.state, "output-available");
  assert.deepEqual(tool.input, { city: "Paris" });
  assert.equal(tool.output.city, "Paris");
  const [before, after] = texts(t2.message);
  assert.equal(before, "Let me check the weather in Paris.");
  assert.equal(after, `It is ${tool.output.temperatureC} °C and ${tool.output.condition} in Paris.`, "the final text uses the tool result");
  assert.equal(texts(t2.message).length, 2);

  const u3 = userMessage("user-msg-3", "Thanks, that is all");
  const t3 = await turn(transport, chatId, [u1, t1.message, u2, t2.message, u3]);
  assert.deepEqual(texts(t3.message), [
    "You said: \u201cThanks, that is all\u201d. I am the scripted model: I answer offline and deterministically, so this reply is the same on every run.",
  ]);
  assert.ok(!t3.message.parts.some((p) => p.type.startsWith("tool-")));

  // Each turn's stream is that turn only: one start, its own message id, no replay.
  const ids = [];
  for (const { chunks, message } of [t1, t2, t3]) {
    const startChunks = chunks.filter((c) => c.type === "start");
    assert.equal(startChunks.length, 1, `one start per turn: ${JSON.stringify(chunks.map((c) => c.type))}`);
    assert.equal(startChunks[0].messageId, message.id);
    assert.equal(chunks[0].type, "start");
    assert.equal(chunks.at(-1).type, "finish");
    assert.equal(chunks.filter((c) => c.type === "finish").length, 1);
    ids.push(message.id);
  }
  assert.equal(new Set(ids).size, 3, "three distinct assistant message ids");
  const deltas = (t) => t.chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join("");
  assert.equal(deltas(t2), texts(t2.message).join(""), "turn 2 streams only its own text");
  assert.ok(!deltas(t2).includes("Hello!") && !deltas(t3).includes("Paris"));
  assert.ok(!t3.chunks.some((c) => c.toolCallId), "turn 3 replays no tool chunk");

  assert.equal(events.filter((e) => e.type === "turn-completed").length, 3);
  assert.ok(!events.some((e) => e.type === "stream-error"), JSON.stringify(events.filter((e) => e.type === "stream-error")));
  assert.deepEqual(tokenCalls, [], "the preload token was enough (no 401/403)");

  // The transcript, read with the session token (PAT).
  const { publicAccessToken } = await createSession(chatId);
  const res = await fetch(`${worker.url}/api/chats/${encodeURIComponent(chatId)}/messages`, {
    headers: { Authorization: `Bearer ${publicAccessToken}` },
    signal: AbortSignal.timeout(20_000),
  });
  assert.equal(res.status, 200);
  const transcript = await res.json();
  assert.deepEqual(transcript.map((m) => m.role), ["user", "assistant", "user", "assistant", "user", "assistant"]);
  assert.deepEqual(transcript.map((m) => m.id), [u1.id, ids[0], u2.id, ids[1], u3.id, ids[2]]);
  assert.deepEqual(transcript[0], u1);
  assert.deepEqual(transcript[2], u2);
  for (const [i, t] of [[1, t1], [3, t2], [5, t3]]) {
    assert.deepEqual(texts(transcript[i]), texts(t.message), `assistant message ${i}`);
  }
  const stored = transcript[3].parts.find((p) => p.type === "tool-get_weather");
  assert.equal(stored.state, "output-available");
  assert.deepEqual(stored.output, tool.output);

  // The app closes the session server-side: the transport's next send gets
  // 409 session_closed and marks the chat closed for good.
  const closed = await fetch(`${worker.url}/api/v1/sessions/${chatId}/close`, {
    method: "POST",
    headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json" },
    body: JSON.stringify({ reason: "archived" }),
    signal: AbortSignal.timeout(20_000),
  });
  assert.equal(closed.status, 200);
  const u4 = userMessage("user-msg-4", "Are you there?");
  const send4 = () => transport.sendMessages({ chatId, messages: [u4], trigger: "submit-message", messageId: undefined, abortSignal: AbortSignal.timeout(20_000) });
  const refused = await send4().catch((e) => e);
  assert.equal(refused.status, 409);
  assert.equal(refused.code, "session_closed");
  assert.equal(refused.closedReason, "archived");
  assert.equal(transport.sessionStatus(chatId), "closed");
  assert.deepEqual(events.filter((e) => e.type === "session-closed").map((e) => [e.reason, e.source]), [["archived", "append"]]);
  assert.equal((await send4().catch((e) => e)).code, "session_closed", "refused locally from now on");
  assert.equal(tokenCalls.length, 0, "a closed session is not an auth problem");
});
