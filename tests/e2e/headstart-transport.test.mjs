// The real browser transport (`TriggerChatTransport` from @trigger.dev/sdk,
// in node) with `headStart` pointed at our route: turn 1 goes through the
// head start, turn 2 directly to the session with the cursor from
// `trigger:session-state`, replaying nothing; a preloaded chat never uses
// the head start.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { postForJson, sendLikeUseChat } from "./chat-client.mjs";
import { startWrangler } from "./wrangler.mjs";

let worker;
before(async () => {
  worker = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
});
after(async () => {
  await worker?.stop();
});

const post = (path, body) => postForJson(worker.url, path, body);

function transport(calls) {
  return new TriggerChatTransport({
    task: "headstart-agent",
    baseURL: worker.url,
    headStart: `${worker.url}/api/chat`,
    accessToken: async ({ chatId }) => {
      calls.push("accessToken");
      return (await post("/api/chat/token", { chatId })).publicAccessToken;
    },
    startSession: async ({ chatId, clientData }) => {
      calls.push("startSession");
      return post("/api/chat/start", { chatId, clientData });
    },
  });
}

const send = sendLikeUseChat;

const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });
const text = (m) => m.parts.filter((p) => p.type === "text").map((p) => p.text).join("|");

test("turn 1 by head start, turns 2 and 3 direct, nothing replayed", async () => {
  const calls = [];
  const t = transport(calls);
  const chatId = `transport_${process.pid}`;
  const history = [user("u1", "What's the weather in Paris?")];

  const turn1 = await send(t, chatId, history);
  assert.equal(turn1.message.parts.find((p) => p.type === "tool-get_weather")?.state, "output-available");
  assert.match(text(turn1.message), /It is .* in Paris\./);
  assert.deepEqual(calls, [], "the head start needs no startSession or token call");
  history.push(turn1.message, user("u2", "hello again"));

  const turn2 = await send(t, chatId, history);
  assert.equal(text(turn2.message), "Hello! I am the scripted model. Ask me about the weather in a city, or for a calculation.");
  assert.ok(!turn2.chunks.some((c) => c.type === "tool-output-available"), "turn 2 replays nothing of turn 1");
  assert.notEqual(turn2.message.id, turn1.message.id);
  assert.equal(turn2.chunks.filter((c) => c.type === "start").length, 1);
  history.push(turn2.message, user("u3", "what is 6 * 7?"));

  const turn3 = await send(t, chatId, history);
  const calc = turn3.message.parts.find((p) => p.type === "tool-calculator");
  assert.equal(calc.output.result, 42);
  assert.ok(!turn3.chunks.some((c) => c.type === "text-delta" && c.delta.includes("Hello")), "turn 3 replays nothing of turn 2");

  const transcript = await (
    await fetch(`${worker.url}/api/chats/${chatId}/messages`, { headers: { authorization: "Bearer tr_dev_headstart_local" } })
  ).json();
  assert.deepEqual(transcript.map((m) => m.id), ["u1", turn1.message.id, "u2", turn2.message.id, "u3", turn3.message.id]);
});

test("a preloaded chat takes the direct path, never the head start", async () => {
  const calls = [];
  const t = transport(calls);
  const chatId = `preload_${process.pid}`;
  await t.preload(chatId);
  assert.deepEqual(calls, ["startSession"]);
  const { message } = await send(t, chatId, [user("u1", "What's the weather in Oslo?")]);
  assert.equal(message.parts.find((p) => p.type === "tool-get_weather")?.input.city, "Oslo");
  // The agent answered from `.in`: no head-start handover record.
  const ins = await (
    await fetch(`${worker.url}/realtime/v1/sessions/${chatId}/in/records`, { headers: { authorization: "Bearer tr_dev_headstart_local" } })
  ).json();
  assert.deepEqual(ins.records.map((r) => JSON.parse(r.data).kind), ["message"]);
});
