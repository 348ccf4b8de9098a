// Fallback across models, compiled to wasm and calling loopback model
// servers through the runtime's real fetch: model 1 fails before its first
// byte (503, 529, 429 over the retry budget) and model 2, another provider,
// answers; the stream the client gets is read by the AI SDK's own parser and
// equals what the SDK's `streamText` makes of model 2 alone. And what must
// not fall through (a 400; a failure after the first byte) does not. Then the
// configuration: `models` in createHandler and HEADSTART_MODELS in
// optionsFromEnv, with their errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import init, * as headstart from "../../pkg/dist/headstart.js";
import { createHandler, optionsFromEnv } from "../../pkg/index.js";
import { startReplayServer } from "./provider-server.mjs";
import { runFixture } from "./provider-reference.mjs";
import { readUiStream } from "./ui-stream.mjs";

await init({ module_or_path: readFileSync(new URL("../../pkg/dist/headstart_bg.wasm", import.meta.url)) });

const prompt = JSON.parse(readFileSync(new URL("../fixtures/providers/prompt.json", import.meta.url), "utf8"));
const tools = JSON.parse(readFileSync(new URL("../fixtures/providers/tools.json", import.meta.url), "utf8"));
const sidecar = (provider, fixture) =>
  JSON.parse(readFileSync(new URL(`../fixtures/providers/${provider}/${fixture}.json`, import.meta.url), "utf8"));

let server;
before(async () => {
  server = await startReplayServer({ eventDelayMs: 2 });
});
after(async () => {
  await server?.stop();
});

/** A HEADSTART_MODELS entry for a replayed fixture, its key in a variable of its own. */
function entry(provider, fixture, keyVar) {
  const meta = ["openai-compatible", "openai-responses", "google"].includes(provider) ? sidecar(provider, fixture) : {};
  // The replay server's directories by the provider name each API has here.
  const name = { anthropic: "anthropic", openai: "openai-chat", "openai-compatible": "openai-chat", "openai-responses": "openai", google: "google" }[provider];
  const model = { anthropic: "claude-sonnet-4-5", google: "gemini-2.5-flash" }[provider] ?? "gpt-4o-mini";
  const out = {
    provider: name,
    model: meta.model ?? model,
    baseURL: `${server.url}/${provider}/${fixture}${meta.basePath ?? (provider === "google" ? "/v1beta" : "/v1")}`,
    apiKeyVar: keyVar,
  };
  if (meta.requestHeaders) out.headersVar = `${keyVar}_HEADERS`;
  return { entry: out, vars: { [keyVar]: "test-key", ...(meta.requestHeaders ? { [`${keyVar}_HEADERS`]: JSON.stringify(meta.requestHeaders) } : {}) } };
}

function vars(models, extra = {}) {
  const entries = models.map(([provider, fixture], i) => entry(provider, fixture, `MODEL_${i}_KEY`));
  return {
    HEADSTART_MODELS: JSON.stringify(entries.map((e) => e.entry)),
    ...Object.assign({}, ...entries.map((e) => e.vars)),
    HEADSTART_SYSTEM: prompt.system,
    HEADSTART_MAX_TOKENS: String(prompt.maxOutputTokens),
    HEADSTART_TOOLS: JSON.stringify(tools),
    ...extra,
  };
}

const requestsTo = (provider, fixture) => server.requests.filter((r) => r.provider === provider && r.fixture === fixture);

for (const [first, second, extra] of [
  // 503 with no retry-after: its attempts back off 2 s, 4 s, which a 1 s budget does not allow.
  [["openai-compatible", "groq-http-503-unavailable"], ["anthropic", "tool-call"], { HEADSTART_RETRY_BUDGET_MS: "1000" }],
  // 529 overloaded, one attempt per model: straight to the next.
  [["anthropic", "http-529-overloaded"], ["openai-compatible", "cloudflare-gateway-text"], { HEADSTART_MAX_ATTEMPTS: "1" }],
  // 429 asking for 8 s (retry-after): over a 5 s budget, so straight to the next model.
  [["openai-compatible", "groq-http-429-rate-limit"], ["anthropic", "text"], { HEADSTART_RETRY_BUDGET_MS: "5000" }],
  // Gemini's 429 asks for 17 s: over the budget, so the Responses API takes the step.
  [["google", "http-429-rate-limit"], ["openai-responses", "tool-call"], { HEADSTART_RETRY_BUDGET_MS: "5000" }],
  // The Responses API's 500, one attempt: Gemini takes the step.
  [["openai-responses", "http-500-server-error"], ["google", "parallel-tool-calls"], { HEADSTART_MAX_ATTEMPTS: "1" }],
]) {
  test(`${first.join("/")} fails before its first byte: ${second.join("/")} answers, as the AI SDK reads it`, async () => {
    const before1 = requestsTo(...first).length;
    const before2 = requestsTo(...second).length;
    const body = headstart.streamStep(vars([first, second], extra), prompt.messages, "msg_turn_1");
    const ours = await readUiStream(body);
    assert.equal(requestsTo(...first).length - before1, 1, "model 1 was called once, and not retried");
    assert.equal(requestsTo(...second).length - before2, 1, "model 2 took the step");
    const sdk = await runFixture(server, ...second);
    assert.deepEqual(ours.chunks, sdk.chunks);
    const reqs = requestsTo(...second);
    assert.deepEqual(reqs.at(-2).body, reqs.at(-1).body, "model 2 got the request the SDK sends");
    if (second[1] === "cloudflare-gateway-text") {
      assert.equal(reqs.at(-2).headers["cf-aig-authorization"], "Bearer cf-aig-test-token");
      assert.equal(reqs.at(-2).path, reqs.at(-1).path);
    }
    assert.equal(ours.chunks.filter((c) => c.type === "start").length, 1);
  });
}

test("a 400 does not fall through: the step fails with it and model 2 is never called", async () => {
  const before2 = requestsTo("openai", "text").length;
  const body = headstart.streamStep(vars([["anthropic", "http-400-invalid-request"], ["openai", "text"]]), prompt.messages, "m");
  const ours = await readUiStream(body, { terminateOnError: false });
  assert.deepEqual(
    ours.chunks.map((c) => c.type),
    ["start", "error"],
  );
  assert.equal(requestsTo("openai", "text").length, before2);
});

test("after the first byte there is no fallback: a cut stream ends well-formed with its error", async () => {
  const before2 = requestsTo("openai", "text").length;
  const body = headstart.streamStep(vars([["anthropic", "cut-off"], ["openai", "text"]]), prompt.messages, "m");
  const ours = await readUiStream(body, { terminateOnError: false });
  const types = ours.chunks.map((c) => c.type);
  assert.ok(types.includes("text-delta"), types.join());
  assert.deepEqual(types.slice(-3), ["error", "finish-step", "finish"]);
  assert.equal(ours.chunks.at(-1).finishReason, "error");
  assert.equal(requestsTo("openai", "text").length, before2);
});

test("createHandler takes `models`, and refuses what does not fit, naming the option", () => {
  const base = { platformUrl: "https://platform.example", secretKey: "tr_dev_x" };
  const good = [
    { provider: "anthropic", model: "claude-haiku-4-5", apiKey: "sk-ant" },
    { provider: "openai-chat", model: "grok-4", apiKey: "xai-key", baseURL: "https://api.x.ai/v1" },
    { provider: "openai-chat", model: "openai/gpt-4o-mini", apiKey: "sk", baseURL: "https://gateway.ai.cloudflare.com/v1/a/g/compat", headers: { "cf-aig-authorization": "Bearer t" } },
  ];
  assert.equal(typeof createHandler({ ...base, models: good, retryBudgetMs: 2000 }), "function");
  assert.equal(typeof createHandler({ ...base, provider: "openai", apiKey: "sk", headers: { "x-title": "app" } }), "function");
  const cases = [
    [{ models: "anthropic:claude" }, /`models` must be an array/],
    [{ models: good, provider: "anthropic" }, /`provider` and `models` do not go together/],
    [{ models: good, apiKey: "sk" }, /`apiKey` and `models`/],
    [{ models: [{ provider: "openai" }] }, /`models\[0\]\.apiKey` is required/],
    [{ models: [{ model: "x", apiKey: "k" }] }, /`models\[0\]\.provider` is required/],
    [{ models: [{ provider: "openai", apiKey: "k", apiKeyVar: "K" }] }, /unknown option `models\[0\]\.apiKeyVar`/],
    [{ models: [{ provider: "openai", apiKey: "k", baseURL: "api.x.ai" }] }, /`models\[0\]\.baseURL` must be an absolute/],
    [{ models: [{ provider: "gemini-x", apiKey: "k" }] }, /`models`: entry 1 \(gemini-x\): unknown provider/],
    [{ models: [{ provider: "openai", apiKey: "k", headers: { host: "secret-value" } }] }, /cannot be set/],
    [{ models: [{ provider: "openai", apiKey: "k", headers: { "x-a": "secret-value\r\nx-b: 1" } }] }, /line break/],
    [{ models: [{ provider: "scripted" }, { provider: "openai", apiKey: "k" }] }, /scripted model cannot be in a list/],
    [{ models: [] }, /names no model/],
    [{ headers: { "x-a": "1" } }, /`headers`: the scripted model takes no headers/],
    [{ retryBudgetMs: -1 }, /`retryBudgetMs` must be an integer/],
  ];
  for (const [options, error] of cases) {
    assert.throws(
      () => createHandler({ ...base, ...options }),
      (e) => e instanceof TypeError && error.test(e.message) && !/secret-value|xai-key|sk-ant/.test(e.message),
      JSON.stringify(options),
    );
  }
});

test("optionsFromEnv reads HEADSTART_MODELS with each entry's key and secret headers from the variables it names", () => {
  const env = {
    TRIGGER_SECRET_KEY: "tr_dev_x",
    ANTHROPIC_API_KEY: "sk-ant",
    XAI_API_KEY: "xai-key",
    CF_AIG_HEADERS: JSON.stringify({ "cf-aig-authorization": "Bearer t" }),
    HEADSTART_RETRY_BUDGET_MS: "3000",
    HEADSTART_MODELS: JSON.stringify([
      { provider: "openai-chat", model: "grok-4", baseURL: "https://api.x.ai/v1", apiKeyVar: "XAI_API_KEY" },
      { provider: "openai-chat", model: "openai/gpt-4o-mini", baseURL: "https://gateway.ai.cloudflare.com/v1/a/g/compat", apiKeyVar: "XAI_API_KEY", headers: { "x-title": "app" }, headersVar: "CF_AIG_HEADERS" },
      { provider: "anthropic" },
    ]),
  };
  const options = optionsFromEnv(env);
  assert.deepEqual(options.models, [
    { provider: "openai-chat", model: "grok-4", apiKey: "xai-key", baseURL: "https://api.x.ai/v1" },
    {
      provider: "openai-chat",
      model: "openai/gpt-4o-mini",
      apiKey: "xai-key",
      baseURL: "https://gateway.ai.cloudflare.com/v1/a/g/compat",
      headers: { "x-title": "app", "cf-aig-authorization": "Bearer t" },
    },
    { provider: "anthropic", apiKey: "sk-ant" },
  ]);
  assert.equal(options.retryBudgetMs, 3000);
  assert.equal(options.provider, undefined);
  assert.equal(typeof createHandler(options), "function");
  const simple = optionsFromEnv({ TRIGGER_SECRET_KEY: "k", ANTHROPIC_API_KEY: "a", OPENAI_API_KEY: "o", HEADSTART_MODELS: "anthropic:claude-haiku-4-5, openai:gpt-4o-mini" });
  assert.deepEqual(simple.models, [
    { provider: "anthropic", model: "claude-haiku-4-5", apiKey: "a" },
    { provider: "openai", model: "gpt-4o-mini", apiKey: "o" },
  ]);
  assert.throws(() => optionsFromEnv({ HEADSTART_MODELS: '[{"provider":"openai","apiKeyVar":"NOPE"}]' }), /NOPE \(its apiKeyVar\) is not set/);
  // Gemini and Vertex entries read their own variables, as the worker does.
  const gemini = optionsFromEnv({
    TRIGGER_SECRET_KEY: "k",
    GOOGLE_GENERATIVE_AI_API_KEY: "g",
    GOOGLE_VERTEX_PROJECT: "p",
    GOOGLE_CLIENT_EMAIL: "sa@p.iam.gserviceaccount.com",
    GOOGLE_PRIVATE_KEY: "pem",
    HEADSTART_MODELS: "google:gemini-2.5-flash, vertex:gemini-2.5-pro",
  });
  assert.deepEqual(gemini.models, [
    { provider: "google", model: "gemini-2.5-flash", apiKey: "g" },
    { provider: "vertex", model: "gemini-2.5-pro" },
  ]);
  assert.deepEqual(gemini.vertex, { project: "p", clientEmail: "sa@p.iam.gserviceaccount.com", privateKey: "pem" });
  // A headersVar that is not an object is refused, never spread into headers.
  for (const held of ['["secret-value"]', '"secret-value"', "null", "not json"]) {
    assert.throws(
      () => optionsFromEnv({ H: held, K: "k", HEADSTART_MODELS: '[{"provider":"openai","apiKeyVar":"K","headersVar":"H"}]' }),
      (e) => /H \(its headersVar\) must hold a JSON object/.test(e.message) && !e.message.includes("secret-value"),
    );
  }
});
