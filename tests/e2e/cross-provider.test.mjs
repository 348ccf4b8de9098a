// A tool turn across providers on workerd (`wrangler dev`), through the real
// browser transport (`TriggerChatTransport`) and the AI SDK's stream reader:
// step 1 runs at the edge on Gemini and the reference agent's step 2 on
// Anthropic (`HEADSTART_AGENT_MODELS`), then the reverse. Both model APIs are
// the recorded streams of tests/fixtures/providers, replayed on loopback.
// Checked: one message with step 1's call, its result and step 2's text;
// the agent's request carries the Gemini call and its result as Anthropic
// blocks (and the reverse); the transcript is the browser's message.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { postForJson, sendLikeUseChat } from "./chat-client.mjs";
import { startWrangler } from "./wrangler.mjs";
import { startReplayServer } from "../js/provider-server.mjs";

const SECRET = "tr_dev_headstart_local";
const auth = { headers: { authorization: `Bearer ${SECRET}` } };
const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });

let replay;
before(async () => {
  replay = await startReplayServer({ eventDelayMs: 2 });
});
after(async () => {
  await replay?.stop();
});

function transport(worker) {
  const post = (path, body) => postForJson(worker.url, path, body);
  return new TriggerChatTransport({
    task: "headstart-agent",
    baseURL: worker.url,
    headStart: `${worker.url}/api/chat`,
    accessToken: async ({ chatId }) => (await post("/api/chat/token", { chatId })).publicAccessToken,
    startSession: async ({ chatId, clientData }) => post("/api/chat/start", { chatId, clientData }),
  });
}

async function transcript(worker, chatId, count) {
  for (let i = 0; i < 100; i++) {
    const messages = await (await fetch(`${worker.url}/api/chats/${chatId}/messages`, auth)).json();
    if (Array.isArray(messages) && messages.length >= count) return messages;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the transcript of ${chatId} never reached ${count} messages`);
}

const requestsTo = (provider, fixture) => replay.requests.filter((r) => r.provider === provider && r.fixture === fixture);

/** The worker's variables for step 1 on `edge` and the agent on `agent`. */
function vars(edge, agent) {
  const base = { google: "/v1beta", anthropic: "/v1" };
  const url = (provider, fixture) => `${replay.url}/${provider}/${fixture}${base[provider]}`;
  const edgeVars =
    edge === "google"
      ? { HEADSTART_PROVIDER: "google", GOOGLE_GENERATIVE_AI_API_KEY: "test-key", GOOGLE_GENERATIVE_AI_BASE_URL: url("google", "tool-call") }
      : { HEADSTART_PROVIDER: "anthropic", ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: url("anthropic", "tool-call") };
  return {
    ...edgeVars,
    AGENT_MODEL_KEY: "test-key",
    HEADSTART_AGENT_MODELS: JSON.stringify([{ provider: agent, baseURL: url(agent, "text"), apiKeyVar: "AGENT_MODEL_KEY" }]),
    HEADSTART_MAX_ATTEMPTS: "1",
  };
}

for (const [edge, agent] of [
  ["google", "anthropic"],
  ["anthropic", "google"],
]) {
  test(`step 1 on ${edge} at the edge, step 2 on ${agent} in the agent: one tool turn, as the browser reads it`, async () => {
    const worker = await startWrangler({ vars: vars(edge, agent) });
    try {
      const chatId = `cross_${edge}_${process.pid}`;
      const edgeBefore = requestsTo(edge, "tool-call").length;
      const agentBefore = requestsTo(agent, "text").length;
      const turn = await sendLikeUseChat(transport(worker), chatId, [user("u1", "What's the weather in Paris?")]);
      const types = turn.chunks.map((c) => c.type);
      // Step 1's stream, then the agent's, spliced: one message id for both.
      const ids = new Set(turn.chunks.filter((c) => c.type === "start").map((c) => c.messageId));
      assert.equal(ids.size, 1, JSON.stringify([...ids]));
      assert.equal(types.at(-1), "finish", types.join());
      assert.ok(!types.includes("error"), types.join());
      const call = turn.message.parts.find((p) => p.type === "tool-get_weather");
      assert.equal(call?.state, "output-available", JSON.stringify(turn.message.parts));
      const texts = turn.message.parts.filter((p) => p.type === "text").map((p) => p.text);
      assert.ok(texts.length >= 2, `step 1's and step 2's text: ${JSON.stringify(texts)}`);

      assert.equal(requestsTo(edge, "tool-call").length - edgeBefore, 1, "the edge called its model once");
      assert.equal(requestsTo(agent, "text").length - agentBefore, 1, "the agent called its own model once");
      // The agent's request holds step 1's call and its result, in the
      // agent's provider's own form.
      const body = requestsTo(agent, "text").at(-1).body;
      if (agent === "anthropic") {
        const blocks = body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []));
        const use = blocks.find((b) => b.type === "tool_use");
        assert.equal(use?.name, "get_weather");
        assert.equal(use.id, call.toolCallId);
        assert.equal(blocks.find((b) => b.type === "tool_result")?.tool_use_id, call.toolCallId);
      } else {
        const parts = body.contents.flatMap((c) => c.parts);
        assert.equal(parts.find((p) => p.functionCall)?.functionCall.name, "get_weather");
        assert.equal(parts.find((p) => p.functionResponse)?.functionResponse.name, "get_weather");
      }

      const messages = await transcript(worker, chatId, 2);
      const saved = messages[1];
      assert.equal(saved.parts.find((p) => p.type === "tool-get_weather")?.state, "output-available");
      assert.deepEqual(
        saved.parts.filter((p) => p.type === "text").map((p) => p.text),
        texts,
        "the transcript holds the browser's text",
      );
    } finally {
      await worker.stop();
    }
  });
}
