// The JS package's wasm, loaded in node: its exports agree with the AI SDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { convertToModelMessages } from "ai";
import init, * as headstart from "../../pkg/dist/headstart.js";
import { bytesStream, readUiStream } from "./ui-stream.mjs";

await init({ module_or_path: readFileSync(new URL("../../pkg/dist/headstart_bg.wasm", import.meta.url)) });

test("version matches Cargo.toml", () => {
  const cargo = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8");
  assert.equal(headstart.version(), cargo.match(/^version = "(.+)"$/m)[1]);
});

test("convertToModelMessages agrees with the AI SDK", async () => {
  const history = [
    { id: "u1", role: "user", parts: [{ type: "text", text: "Weather in Paris?" }] },
    {
      id: "a1",
      role: "assistant",
      parts: [
        { type: "step-start" },
        { type: "text", text: "Checking." },
        { type: "tool-get_weather", toolCallId: "t1", state: "output-available", input: { city: "Paris" }, output: { c: 21 } },
        { type: "step-start" },
        { type: "text", text: "21 °C." },
      ],
    },
    { id: "u2", role: "user", parts: [{ type: "text", text: "Thanks" }, { type: "file", mediaType: "image/png", url: "HTTPS://Example.com" }] },
  ];
  assert.deepEqual(headstart.convertToModelMessages(history), JSON.parse(JSON.stringify(await convertToModelMessages(history))));
});

test("convertToModelMessages rejects what the SDK rejects, with a message", () => {
  assert.throws(
    () => headstart.convertToModelMessages([{ id: "u", role: "user", parts: [{ type: "file", mediaType: "image/png", url: "nope" }] }]),
    /not a valid URL/,
  );
  assert.throws(() => headstart.convertToModelMessages([{ id: "u", role: "robot", parts: [] }]), /invalid UI messages/);
});

test("encodeUiMessageStream output is read back by the AI SDK", async () => {
  const chunks = [
    { type: "start", messageId: "m1" },
    { type: "start-step" },
    { type: "text-start", id: "0" },
    { type: "text-delta", id: "0", delta: "Hello" },
    { type: "text-delta", id: "0", delta: ", world" },
    { type: "text-end", id: "0" },
    { type: "finish-step" },
    { type: "finish", finishReason: "stop" },
  ];
  const sse = headstart.encodeUiMessageStream(chunks);
  assert.match(sse, /^data: \{"type":"start","messageId":"m1"\}\n\n/);
  const { chunks: parsed, message } = await readUiStream(bytesStream(sse));
  assert.deepEqual(parsed, chunks);
  assert.equal(message.id, "m1");
  assert.deepEqual(message.parts.filter((p) => p.type === "text").map((p) => p.text), ["Hello, world"]);
});

test("optionsFromEnv reads the worker's variables, and createHandler accepts what it makes", async () => {
  const { optionsFromEnv, createHandler } = await import("../../pkg/index.js");
  const base = { TRIGGER_API_URL: "https://platform.example", TRIGGER_SECRET_KEY: "tr_dev_x" };
  assert.deepEqual(optionsFromEnv({ ...base, HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_FAULT: "stall", HEADSTART_MODEL: "" }), {
    platformUrl: "https://platform.example",
    secretKey: "tr_dev_x",
    provider: "scripted",
    scripted: { ttfbMs: 20, fault: "stall" },
  });
  const anthropic = optionsFromEnv({
    ...base,
    ANTHROPIC_API_KEY: "sk-ant",
    ANTHROPIC_BASE_URL: "http://127.0.0.1:9/v1",
    OPENAI_API_KEY: "sk-oai",
    HEADSTART_TOOLS: '[{"name":"t","inputSchema":{"type":"object"}}]',
    HEADSTART_MAX_TOKENS: "256",
    HEADSTART_ALLOWED_ORIGINS: "https://a.example,https://b.example",
    HEADSTART_SCRIPTED_TTFB_MS: "20",
  });
  assert.equal(anthropic.provider, "anthropic", "the provider whose key is set, Anthropic first, as the worker");
  assert.equal(anthropic.apiKey, "sk-ant");
  assert.equal(anthropic.baseURL, "http://127.0.0.1:9/v1");
  assert.equal(anthropic.maxTokens, 256);
  assert.equal(anthropic.scripted, undefined, "scripted settings only for the scripted model");
  assert.equal(optionsFromEnv({ ...base, OPENAI_API_KEY: "sk-oai" }).provider, "openai");
  const chat = optionsFromEnv({ ...base, HEADSTART_PROVIDER: "openai-chat", OPENAI_API_KEY: "sk-oai", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
  assert.deepEqual([chat.provider, chat.apiKey, chat.baseURL], ["openai-chat", "sk-oai", "http://127.0.0.1:9/v1"]);
  assert.equal(typeof createHandler(chat), "function");
  assert.equal(optionsFromEnv(base, { agentId: "mine" }).agentId, "mine");
  for (const options of [optionsFromEnv(base), anthropic]) assert.equal(typeof createHandler(options), "function");
  assert.throws(() => optionsFromEnv({ ...base, HEADSTART_MAX_TOKENS: "lots" }), /HEADSTART_MAX_TOKENS must be a number/);
  assert.throws(() => optionsFromEnv({ ...base, HEADSTART_TOOLS: "[" }), /HEADSTART_TOOLS is not JSON/);
  assert.throws(() => createHandler(optionsFromEnv({ TRIGGER_API_URL: "https://p.example" })), /`secretKey` is required/);
  assert.equal(optionsFromEnv({ TRIGGER_SECRET_KEY: "tr_prod_x" }).platformUrl, "https://api.trigger.dev");
  // Caller auth: the same variables as the worker's.
  const auth = optionsFromEnv({
    ...base,
    HEADSTART_AUTH_JWKS_URL: "https://id.example/.well-known/jwks.json",
    HEADSTART_AUTH_ISSUER: "https://id.example/",
    HEADSTART_AUTH_AUDIENCE: "app,api",
    HEADSTART_AUTH_ALGORITHMS: "RS256",
    HEADSTART_AUTH_LEEWAY_SECS: "30",
  });
  assert.deepEqual(
    [auth.authJwksUrl, auth.authIssuer, auth.authAudience, auth.authAlgorithms, auth.authLeewaySeconds, auth.local],
    ["https://id.example/.well-known/jwks.json", "https://id.example/", "app,api", "RS256", 30, undefined],
  );
  assert.equal(typeof createHandler(auth), "function");
  assert.equal(optionsFromEnv({ ...base, HEADSTART_LOCAL: "1" }).local, true);
  assert.equal(optionsFromEnv({ ...base, HEADSTART_AUTH: "anonymous" }).auth, "anonymous");
  assert.throws(() => createHandler(optionsFromEnv({ ...base, HEADSTART_AUTH_JWKS_URL: "https://id.example/jwks" })), /`authIssuer` is required/);
});
