// Edge steps on workerd (`wrangler dev`), through the real browser transport
// (`TriggerChatTransport` of @trigger.dev/sdk) and the AI SDK's own stream
// reader: a tool turn finished at the edge is one multi-step message, `.out`
// holds what the browser got, turn 2 goes the direct path without replaying
// turn 1, and the reference agent's transcript is the browser's message; a
// turn whose second step calls a tool that is not edge-safe is handed over
// mid-turn and finished by the agent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { postForJson, sendLikeUseChat } from "./chat-client.mjs";
import { startWrangler } from "./wrangler.mjs";

const SECRET = "tr_dev_headstart_local";
let worker;
before(async () => {
  worker = await startWrangler({
    vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2", HEADSTART_EDGE_TOOLS: "get_weather" },
  });
});
after(async () => {
  await worker?.stop();
});

const post = (path, body) => postForJson(worker.url, path, body);
const auth = { headers: { authorization: `Bearer ${SECRET}` } };
const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });
const text = (m) => m.parts.filter((p) => p.type === "text").map((p) => p.text).join("|");

function transport() {
  return new TriggerChatTransport({
    task: "headstart-agent",
    baseURL: worker.url,
    headStart: `${worker.url}/api/chat`,
    accessToken: async ({ chatId }) => (await post("/api/chat/token", { chatId })).publicAccessToken,
    startSession: async ({ chatId, clientData }) => post("/api/chat/start", { chatId, clientData }),
  });
}

const send = sendLikeUseChat;

/** The agent's transcript, once it has persisted `count` messages (it boots on its own time). */
async function transcript(chatId, count) {
  for (let i = 0; i < 100; i++) {
    const messages = await (await fetch(`${worker.url}/api/chats/${chatId}/messages`, auth)).json();
    if (Array.isArray(messages) && messages.length >= count) return messages;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the transcript of ${chatId} never reached ${count} messages`);
}

const outChunks = async (chatId) =>
  (await (await fetch(`${worker.url}/realtime/v1/sessions/${chatId}/out/records`, auth)).json()).records.filter((r) => r.data).map((r) => r.data);

test("a tool turn finished at the edge: one message, .out as the browser got it, turn 2 direct, the transcript the browser's", async () => {
  const t = transport();
  const chatId = `edge_${process.pid}`;
  const history = [user("u1", "What's the weather in Paris?")];
  const turn1 = await send(t, chatId, history);
  const types = turn1.chunks.map((c) => c.type);
  assert.equal(types.filter((x) => x === "start").length, 1);
  assert.equal(types.filter((x) => x === "finish").length, 1);
  assert.equal(types.filter((x) => x === "start-step").length, 2);
  assert.equal(turn1.message.parts.find((p) => p.type === "tool-get_weather")?.state, "output-available");
  assert.match(text(turn1.message), /It is .* in Paris\./);
  // `.out`: exactly the chunks the browser got (the transport removes the
  // trigger:* ones before the AI SDK sees them).
  assert.deepEqual(await outChunks(chatId), turn1.chunks);
  // The handover was final, with every step.
  const ins = (await (await fetch(`${worker.url}/realtime/v1/sessions/${chatId}/in/records`, auth)).json()).records.map((r) => JSON.parse(r.data));
  assert.equal(ins[0].kind, "handover");
  assert.equal(ins[0].isFinal, true);
  assert.deepEqual(ins[0].partialAssistantMessage.map((m) => m.role), ["assistant", "tool", "assistant"]);

  history.push(turn1.message, user("u2", "hello again"));
  const turn2 = await send(t, chatId, history);
  assert.match(text(turn2.message), /^Hello! I am the scripted model/);
  assert.ok(!turn2.chunks.some((c) => c.type === "tool-output-available"), "turn 2 replays nothing of turn 1");

  const messages = await transcript(chatId, 4);
  assert.deepEqual(messages.map((m) => m.id), ["u1", turn1.message.id, "u2", turn2.message.id]);
  assert.deepEqual(messages[1], JSON.parse(JSON.stringify(turn1.message)), "the agent persisted the message the browser assembled");
});

test("a step that calls a tool that is not edge-safe is handed over mid-turn and finished by the agent", async () => {
  const t = transport();
  const chatId = `edge_mid_${process.pid}`;
  const { message, chunks } = await send(t, chatId, [user("u1", "What's the weather in Paris? And what is 6 * 7?")]);
  assert.equal(message.parts.find((p) => p.type === "tool-get_weather")?.state, "output-available");
  assert.equal(message.parts.find((p) => p.type === "tool-calculator")?.output?.result, 42);
  assert.match(text(message), /6 \* 7 = 42\./);
  assert.equal(chunks.filter((c) => c.type === "start-step").length, 3);
  const ins = (await (await fetch(`${worker.url}/realtime/v1/sessions/${chatId}/in/records`, auth)).json()).records.map((r) => JSON.parse(r.data));
  assert.equal(ins[0].isFinal, false);
  assert.deepEqual(ins[0].partialAssistantMessage.map((m) => m.role), ["assistant", "tool", "assistant", "tool"]);
  const messages = await transcript(chatId, 2);
  assert.deepEqual(messages[1], JSON.parse(JSON.stringify(message)), "the agent's transcript is the browser's message");
});
