// The package's SessionClient composed with the AI SDK's own `streamText`
// (@ai-sdk/anthropic against the loopback Anthropic server): step 1 runs in
// this process with the SDK, the client opens the session, writes step 1 to
// `.out`, hands over and splices the agent's part — the head start, built by
// hand from the lower-level functions, against the self-hosted platform.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createAnthropic } from "@ai-sdk/anthropic";
import { convertToModelMessages, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { createSessionClient, encodeUiMessageStream } from "../../pkg/index.js";
import { startWrangler } from "../e2e/wrangler.mjs";
import { startAnthropicServer } from "./anthropic-server.mjs";
import { SECRET } from "./scenarios.mjs";
import { readUiStream } from "./ui-stream.mjs";

let platform;
let model;
let client;
before(async () => {
  platform = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
  model = await startAnthropicServer({ ttfbMs: 20, tokenMs: 2 });
  client = createSessionClient({ platformUrl: platform.url, secretKey: SECRET });
});
after(async () => {
  await model?.stop();
  await platform?.stop();
});

const tools = {
  get_weather: tool({ description: "Weather in a city", inputSchema: jsonSchema({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }) }),
};
const user = (text) => [{ id: "u1", role: "user", parts: [{ type: "text", text }] }];
const ins = async (id) =>
  (await (await fetch(`${platform.url}/realtime/v1/sessions/${id}/in/records`, { headers: { authorization: `Bearer ${SECRET}` } })).json()).records.map((r) =>
    JSON.parse(r.data),
  );

/** Step 1 with the AI SDK, everything else through the SessionClient. */
async function composedTurn(id, text) {
  const headStartMessages = user(text);
  const session = await client.openSession({ chatId: id, headStartMessages });
  assert.equal(session.publicAccessToken.split(".").length, 3);
  const messageId = "msg_" + id.slice(-10);
  const result = streamText({
    model: createAnthropic({ baseURL: model.baseURL, apiKey: "test" })("claude-loopback"),
    messages: await convertToModelMessages(headStartMessages),
    tools,
    stopWhen: stepCountIs(1),
  });
  const step1 = [];
  for await (const chunk of result.toUIMessageStream({ generateMessageId: () => messageId })) step1.push(chunk);
  const { lastSeq } = await client.appendOut(id, step1);
  assert.equal(lastSeq, step1.length - 1, "step 1 is the first thing on .out");
  await client.handOver(id, { messageId, responseMessages: (await result.response).messages, finishReason: await result.finishReason });
  // What the browser gets: step 1, then the splice, as one body.
  const spliced = client.splice(id, { afterSeq: lastSeq });
  const body = new ReadableStream({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode(encodeUiMessageStream(step1)));
      for await (const bytes of spliced) controller.enqueue(bytes);
      controller.close();
    },
  });
  const { chunks, message } = await readUiStream(body, { terminateOnError: false });
  return { step1, agent: { chunks: chunks.slice(step1.length), message }, messageId };
}

test("a tool turn: the agent runs the SDK's tool call and its part is spliced after step 1", async () => {
  const id = `sc_tool_${process.pid}`;
  const { step1, agent, messageId } = await composedTurn(id, "What's the weather in Paris?");
  assert.equal(step1.at(-1).finishReason, "tool-calls");
  const handover = ins(id).then((r) => r[0]);
  assert.equal((await handover).kind, "handover");
  assert.equal((await handover).isFinal, false);
  assert.equal((await handover).partialAssistantMessage.at(-1).content[0].approvalId, "handover-approval-1");
  const types = agent.chunks.map((c) => c.type);
  assert.equal(agent.chunks[0].type, "start");
  assert.equal(agent.chunks[0].messageId, messageId);
  const output = agent.chunks.find((c) => c.type === "tool-output-available");
  assert.equal(output.output.city, "Paris");
  assert.deepEqual(types.slice(-2), ["trigger:turn-complete", "trigger:session-state"]);
  // One assistant message: step 1's text and call, the agent's result and answer.
  assert.equal(agent.message.id, messageId);
  assert.equal(agent.message.parts.find((p) => p.type === "tool-get_weather").state, "output-available");
  assert.match(agent.message.parts.filter((p) => p.type === "text").map((p) => p.text).join("|"), /^Let me check the weather in Paris\.\|It is -?\d+ °C/);
  assert.equal(typeof agent.chunks.at(-1).lastEventId, "string");
});

test("a text turn: the handover is final and the splice brings only the turn's end", async () => {
  const id = `sc_text_${process.pid}`;
  const { step1, agent } = await composedTurn(id, "hello");
  assert.equal(step1.at(-1).finishReason, "stop");
  const [handover] = await ins(id);
  assert.equal(handover.isFinal, true);
  assert.deepEqual(agent.chunks.map((c) => c.type), ["trigger:turn-complete", "trigger:session-state"]);
});

test("skip: the agent is told step 1 will not come", async () => {
  const id = `sc_skip_${process.pid}`;
  await client.openSession({ chatId: id, headStartMessages: user("hi") });
  await client.skip(id);
  assert.deepEqual((await ins(id)).map((r) => r.kind), ["handover-skip"]);
});

test("bad input is refused with a status and a code, before anything is sent", async () => {
  assert.throws(() => createSessionClient({ platformUrl: platform.url }), (e) => e instanceof TypeError && /`secretKey` is required/.test(e.message));
  assert.throws(() => createSessionClient({ platformUrl: platform.url, secretKey: SECRET, model: "x" }), /unknown option `model`/);
  await assert.rejects(client.openSession({ chatId: "session_x", headStartMessages: [] }), (e) => e.status === 400 && e.code === "invalid_chat_id");
  await assert.rejects(client.openSession({ chatId: "ok_id", headStartMessages: [{ id: "u", role: "user" }] }), (e) => e.status === 400);
  await assert.rejects(client.handOver("sc_none", { responseMessages: [], finishReason: "stop" }), (e) => e.code === "invalid_request" && /messageId/.test(e.message));
  await assert.rejects(client.appendOut("", []), (e) => e.code === "invalid_chat_id");
  assert.throws(() => client.splice("sc_none", { afterSeq: -1 }), /afterSeq/);
  const other = createSessionClient({ platformUrl: platform.url, secretKey: "tr_dev_wrong" });
  await assert.rejects(other.openSession({ chatId: `sc_auth_${process.pid}`, headStartMessages: [] }), (e) => e.status === 401 && e.code === "platform_error");
});
