// Runs the real AI SDK against every recorded provider stream in
// tests/fixtures/providers, served by the loopback replay server, exactly as
// the head-start route handler runs step 1:
//
//   streamText({ model, system, messages, tools, stopWhen: stepCountIs(1),
//                maxRetries: 0, maxOutputTokens, providerOptions, abortSignal })
//   result.toUIMessageStream({ generateMessageId: () => "msg_turn_1", sendReasoning: true })
//
// with model = createAnthropic({ baseURL, apiKey: "test-key" })("claude-sonnet-4-5")
//          or createOpenAI({ baseURL, apiKey: "test-key" }).chat("gpt-4o-mini") (fixtures in openai/),
//          or createOpenAI({ baseURL, apiKey: "test-key" }).responses(model) (openai-responses/;
//             model from the sidecar's `model`, else "gpt-4o-mini"),
//          or, for openai-compatible/*, createOpenAI({ baseURL, apiKey: "test-key", headers })
//             .chat(model) with the sidecar's model, basePath and requestHeaders,
// system/messages/maxOutputTokens from prompt.json, schema-only tools (no
// execute) from tools.json, and providerOptions from the fixture's sidecar.
// toUIMessageStream's onError is left unset (SDK default: "An error occurred.").
// streamText's onError (SDK default: console.error) is replaced by a collector
// so stderr stays clean; it has no other effect without `streamRetries`.
//
// Prints one JSON object to stdout (JSON.stringify, so undefined is dropped):
//
//   { "<provider>/<fixture>": {
//       chunks,            // every UI message chunk, in order
//       finishReason,      // await result.finishReason, or { rejected: <error> }
//       responseMessages,  // (await result.response).messages, or { rejected: <error> }
//       request,           // { method, path, headers (the relevant ones), body, rawBody? }
//       uiStreamError?,    // the UI message stream itself errored (for await threw)
//       errors?,           // errors passed to streamText's onError, serialized
//       error?             // harness failure: timeout or a thrown exception
//   }, ... }
//
// usage: node tests/js/provider-reference.mjs [--only PROVIDER/FIXTURE[,...]] [--timeout MS]
//                                             [--ttfb MS] [--delay MS] [--pretty]
//
// Errors are serialized as { name, message, statusCode?, isRetryable?,
// responseBody?, responseHeaders? (the fixture's sidecar headers only), data?, cause? }.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { jsonSchema, stepCountIs, streamText, tool } from "ai";
import { defaultFixturesDir, listFixtures, loadFixture, startReplayServer } from "./provider-server.mjs";

// The SDK logs warnings (e.g. unsupported settings) with console.warn; keep
// stdout/stderr clean. Warnings do not change the chunks.
globalThis.AI_SDK_LOG_WARNINGS = false;

const fixturesDir = defaultFixturesDir;
const prompt = JSON.parse(readFileSync(join(fixturesDir, "prompt.json"), "utf8"));
/** A fixture may name another prompt file (sidecar `prompt`), e.g. a longer history. */
const loadPrompt = (file) => JSON.parse(readFileSync(join(fixturesDir, file), "utf8"));
const toolSpecs = JSON.parse(readFileSync(join(fixturesDir, "tools.json"), "utf8"));

/** Schema-only tools in tools.json order (no execute: calls end the step). */
export function buildTools() {
  return Object.fromEntries(
    Object.entries(toolSpecs).map(([name, spec]) => [
      name,
      tool({ description: spec.description, inputSchema: jsonSchema(spec.inputSchema) }),
    ]),
  );
}

export function buildModel(provider, baseURL, meta = {}) {
  const modelId = meta.model;
  if (provider === "anthropic") return createAnthropic({ baseURL, apiKey: "test-key" })("claude-sonnet-4-5");
  if (provider === "openai") return createOpenAI({ baseURL, apiKey: "test-key" }).chat("gpt-4o-mini");
  if (provider === "openai-responses") return createOpenAI({ baseURL, apiKey: "test-key" }).responses(modelId ?? "gpt-4o-mini");
  if (provider === "google") {
    // Function calls without an id get `gen-1`, `gen-2`, ... (the Rust side
    // is given the same generator), so no random id reaches the output.
    let n = 0;
    const generateId = () => `gen-${++n}`;
    return createGoogleGenerativeAI({ baseURL, apiKey: "test-key", generateId })(modelId ?? "gemini-2.5-flash");
  }
  // An OpenAI-compatible host or gateway: its base URL form, model id and extra headers.
  if (provider === "openai-compatible") {
    return createOpenAI({ baseURL, apiKey: "test-key", headers: meta.requestHeaders }).chat(meta.model ?? "gpt-4o-mini");
  }
  throw new Error(`unknown provider ${provider}`);
}

const RELEVANT_HEADERS = ["content-type", "x-api-key", "authorization", "anthropic-version", "anthropic-beta", "x-goog-api-key"];

export function serializeError(error, sidecarHeaders) {
  if (error == null || typeof error !== "object") return { message: String(error) };
  const out = { name: error.name, message: error.message };
  if (error.statusCode != null) out.statusCode = error.statusCode;
  if (error.isRetryable != null) out.isRetryable = error.isRetryable;
  if (error.responseBody != null) out.responseBody = error.responseBody;
  if (error.responseHeaders != null && sidecarHeaders != null) {
    const picked = {};
    for (const k of Object.keys(sidecarHeaders)) {
      const v = error.responseHeaders[k.toLowerCase()];
      if (v != null) picked[k.toLowerCase()] = v;
    }
    if (Object.keys(picked).length > 0) out.responseHeaders = picked;
  }
  if (error.data !== undefined && !(error instanceof Error && error.data === error)) out.data = error.data;
  if (error.cause != null) out.cause = error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : error.cause;
  return out;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs one fixture; `server` is a started replay server. */
export async function runFixture(server, provider, fixture, { timeoutMs = 10000 } = {}) {
  const meta = loadFixture(fixturesDir, provider, fixture);
  if (meta == null) throw new Error(`no fixture ${provider}/${fixture}`);
  const baseURL = `${server.url}/${provider}/${fixture}${meta.basePath ?? (provider === "google" ? "/v1beta" : "/v1")}`;
  const call = meta.prompt != null ? loadPrompt(meta.prompt) : prompt;
  const firstRequest = server.requests.length;
  const controller = new AbortController();
  const errors = [];
  const entry = {};
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());

  try {
    const result = streamText({
      model: buildModel(provider, baseURL, meta),
      system: call.system,
      messages: call.messages,
      tools: buildTools(),
      stopWhen: stepCountIs(1),
      maxRetries: 0,
      maxOutputTokens: call.maxOutputTokens,
      ...(meta.providerOptions != null ? { providerOptions: meta.providerOptions } : {}),
      abortSignal: controller.signal,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    // Observe the promises at once so a rejection is never unhandled.
    const finishReason = result.finishReason.then(
      (v) => v,
      (e) => ({ rejected: serializeError(e, meta.headers) }),
    );
    const response = result.response.then(
      (r) => r.messages,
      (e) => ({ rejected: serializeError(e, meta.headers) }),
    );

    const chunks = [];
    entry.chunks = chunks;
    const consume = (async () => {
      for await (const chunk of result.toUIMessageStream({
        generateMessageId: () => "msg_turn_1",
        sendReasoning: true,
      })) {
        chunks.push(chunk);
      }
    })();
    try {
      await withTimeout(consume, left(), "the UI message stream");
    } catch (e) {
      if (String(e?.message).startsWith("timeout")) throw e;
      entry.uiStreamError = serializeError(e, meta.headers);
    }
    entry.finishReason = await withTimeout(finishReason, left(), "result.finishReason");
    entry.responseMessages = await withTimeout(response, left(), "result.response");
    entry.usage = await withTimeout(result.usage.then((u) => u, () => undefined), left(), "result.usage");
  } catch (e) {
    controller.abort();
    entry.error = serializeError(e, meta.headers);
  }

  if (errors.length > 0) entry.errors = errors.map((e) => serializeError(e, meta.headers));
  const reqs = server.requests.slice(firstRequest).filter((r) => r.provider === provider && r.fixture === fixture);
  const summarize = (r) => ({
    method: "POST",
    path: r.path,
    ...(r.query ? { query: r.query } : {}),
    headers: Object.fromEntries(
      [...RELEVANT_HEADERS, ...Object.keys(meta.requestHeaders ?? {}).map((h) => h.toLowerCase())]
        .filter((h) => r.headers[h] != null)
        .map((h) => [h, r.headers[h]]),
    ),
    body: r.body,
    // The SDK sends JSON.stringify(body); the raw text is kept only if it differs.
    ...(JSON.stringify(r.body) !== r.rawBody ? { rawBody: r.rawBody } : {}),
  });
  entry.request = reqs.length === 1 ? summarize(reqs[0]) : reqs.map(summarize);
  return entry;
}

function parseArgs(argv) {
  const opts = { timeoutMs: 10000, ttfbMs: 0, eventDelayMs: 0, pretty: false, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v == null) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--only") opts.only = next().split(",");
    else if (a === "--timeout") opts.timeoutMs = Number(next());
    else if (a === "--ttfb") opts.ttfbMs = Number(next());
    else if (a === "--delay") opts.eventDelayMs = Number(next());
    else if (a === "--pretty") opts.pretty = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: node tests/js/provider-reference.mjs [--only PROVIDER/FIXTURE[,...]] [--timeout MS] [--ttfb MS] [--delay MS] [--pretty]\n",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const isMain = process.argv[1] != null && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const opts = parseArgs(process.argv.slice(2));
  const server = await startReplayServer({ fixturesDir, ttfbMs: opts.ttfbMs, eventDelayMs: opts.eventDelayMs });
  const out = {};
  try {
    const all = listFixtures(fixturesDir);
    for (const provider of Object.keys(all)) {
      for (const fixture of all[provider]) {
        const key = `${provider}/${fixture}`;
        if (opts.only != null && !opts.only.includes(key)) continue;
        out[key] = await runFixture(server, provider, fixture, { timeoutMs: opts.timeoutMs });
      }
    }
  } finally {
    await server.stop();
  }
  // Exit only once the output is flushed: a pipe takes 64 KiB at a time and
  // process.exit() would cut the rest.
  process.stdout.write(opts.pretty ? `${JSON.stringify(out, null, 2)}\n` : JSON.stringify(out), () => process.exit(0));
}
