// The providers compiled to wasm, calling a loopback model server through
// the runtime's real fetch: the same chunks as the AI SDK over the same
// server, and an abort that closes the connection at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import init, * as headstart from "../../pkg/dist/headstart.js";
import { defaultFixturesDir, loadFixture, startReplayServer } from "./provider-server.mjs";
import { runFixture } from "./provider-reference.mjs";
import { readUiStream } from "./ui-stream.mjs";

await init({ module_or_path: readFileSync(new URL("../../pkg/dist/headstart_bg.wasm", import.meta.url)) });

const prompt = JSON.parse(readFileSync(new URL("../fixtures/providers/prompt.json", import.meta.url), "utf8"));
const tools = JSON.parse(readFileSync(new URL("../fixtures/providers/tools.json", import.meta.url), "utf8"));
let server;
before(async () => {
  server = await startReplayServer({ eventDelayMs: 5 });
});
after(async () => {
  await server?.stop();
});

// Fixture directories by provider name: openai/ holds Chat Completions
// streams (`openai-chat`), openai-responses/ the Responses API's (`openai`).
const PROVIDER_NAME = { anthropic: "anthropic", openai: "openai-chat", "openai-responses": "openai" };

function vars(provider, fixture, extra = {}) {
  const base = `${server.url}/${provider}/${fixture}/v1`;
  const meta = loadFixture(defaultFixturesDir, provider, fixture);
  return {
    HEADSTART_PROVIDER: PROVIDER_NAME[provider],
    ...(provider === "anthropic"
      ? { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: base, HEADSTART_MODEL: "claude-sonnet-4-5" }
      : { OPENAI_API_KEY: "test-key", OPENAI_BASE_URL: base, HEADSTART_MODEL: meta?.model ?? "gpt-4o-mini" }),
    ...(meta?.providerOptions != null ? { HEADSTART_PROVIDER_OPTIONS: JSON.stringify(meta.providerOptions) } : {}),
    HEADSTART_SYSTEM: prompt.system,
    HEADSTART_MAX_TOKENS: String(prompt.maxOutputTokens),
    HEADSTART_TOOLS: JSON.stringify(tools),
    HEADSTART_MAX_ATTEMPTS: "1",
    ...extra,
  };
}

for (const [provider, fixture] of [
  ["anthropic", "text"],
  ["anthropic", "thinking"],
  ["anthropic", "parallel-tool-calls"],
  ["anthropic", "error-event-overloaded"],
  ["openai", "tool-call"],
  ["openai", "length"],
  ["openai-responses", "text"],
  ["openai-responses", "reasoning"],
  ["openai-responses", "parallel-tool-calls"],
  ["openai-responses", "response-failed"],
]) {
  test(`${provider}/${fixture}: same chunks as the AI SDK over HTTP`, async () => {
    const v = vars(provider, fixture);
    const body = headstart.streamStep(v, prompt.messages, "msg_turn_1");
    const ours = await readUiStream(body, { terminateOnError: !fixture.startsWith("error") && !fixture.startsWith("response-failed") });
    const sdk = await runFixture(server, provider, fixture);
    assert.deepEqual(ours.chunks, sdk.chunks);
    // Both requests reached the server; ours must equal the SDK's.
    const reqs = server.requests.filter((r) => r.fixture === fixture && r.provider === provider);
    assert.deepEqual(reqs.at(-2).body, reqs.at(-1).body);
  });
}

test("cancelling the stream aborts the model request within 50 ms", async () => {
  const slow = await startReplayServer({ eventDelayMs: 300 });
  try {
    const v = { ...vars("anthropic", "text"), ANTHROPIC_BASE_URL: `${slow.url}/anthropic/text/v1` };
    const reader = headstart.streamStep(v, prompt.messages, "m").getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes('"text-delta"')) {
      const { value, done } = await reader.read();
      assert.ok(!done, "stream ended before any text");
      seen += decoder.decode(value, { stream: true });
    }
    const aborted = performance.now();
    await reader.cancel();
    const deadline = aborted + 1000;
    while (slow.closes.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    assert.equal(slow.closes.length, 1, "the server saw no early close");
    const ms = slow.closes[0].at - aborted;
    assert.ok(ms < 50, `connection closed ${ms.toFixed(1)} ms after the abort`);
  } finally {
    await slow.stop();
  }
});

test("the scripted model streams without a network", async () => {
  const body = headstart.streamStep(
    { HEADSTART_SCRIPTED_TTFB_MS: "5", HEADSTART_SCRIPTED_TOKEN_MS: "1" },
    [{ role: "user", content: [{ type: "text", text: "What's the weather in Paris?" }] }],
    "m2",
  );
  const { message, chunks } = await readUiStream(body);
  assert.equal(message.id, "m2");
  assert.equal(chunks.at(-1).finishReason, "tool-calls");
  const call = message.parts.find((p) => p.type === "tool-get_weather");
  assert.deepEqual(call.input, { city: "Paris" });
});

test("bad settings are refused with the variable's name", () => {
  assert.throws(() => headstart.streamStep({ HEADSTART_PROVIDER: "openai" }, [], "m"), /OPENAI_API_KEY/);
  assert.throws(() => headstart.streamStep({ HEADSTART_PROVIDER: "openai-chat" }, [], "m"), /OPENAI_API_KEY/);
});
