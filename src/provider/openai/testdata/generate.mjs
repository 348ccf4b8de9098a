// Writes the SDK's answers for the OpenAI provider's unit tests:
//
//   request-cases.json -> request-expected.json
//     { name: { body } | { error } }: the request body `streamText` makes
//     `@ai-sdk/openai`'s chat model send (via a capturing `fetch`), or the
//     error the call fails with before sending.
//   decode-cases.json -> decode-expected.json
//     { name: [part, ...] }: the chat model's `doStream` parts for an SSE
//     body, reduced to what `StreamPart` carries; a call that fails is
//     { thrown: { statusCode, message } } as the last entry.
//
// usage: node_modules/.bin/node src/provider/openai/testdata/generate.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createOpenAI } from "@ai-sdk/openai";
import { jsonSchema, stepCountIs, streamText, tool } from "ai";

globalThis.AI_SDK_LOG_WARNINGS = false;
const dir = dirname(fileURLToPath(import.meta.url));
const read = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));
const write = (name, value) => writeFileSync(join(dir, name), JSON.stringify(value, null, 1) + "\n");

const DEFAULT_SSE =
  'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';

function sseResponse(body) {
  const bytes = new TextEncoder().encode(body);
  return new Response(new ReadableStream({ start(c) { c.enqueue(bytes); c.close(); } }), {
    status: 200,
    headers: { "content-type": "text/event-stream" },
  });
}

function chatModel(model, body, capture) {
  const fetch = async (_url, init) => {
    capture?.(init.body);
    return sseResponse(body);
  };
  return createOpenAI({ baseURL: "http://localhost/v1", apiKey: "test-key", fetch }).chat(model ?? "gpt-4o-mini");
}

async function requestBody(c) {
  let body;
  const errors = [];
  const tools =
    c.tools &&
    Object.fromEntries(
      Object.entries(c.tools).map(([n, s]) => [n, tool({ description: s.description, inputSchema: jsonSchema(s.inputSchema) })]),
    );
  const result = streamText({
    model: chatModel(c.model, DEFAULT_SSE, (b) => (body = b)),
    system: c.system,
    messages: c.messages,
    // CallOptions may carry system messages; streamText wants them allowed.
    allowSystemInMessages: true,
    tools,
    toolChoice: c.toolChoice,
    maxOutputTokens: c.maxOutputTokens,
    temperature: c.temperature,
    providerOptions: c.providerOptions,
    stopWhen: stepCountIs(1),
    maxRetries: 0,
    onError: ({ error }) => errors.push(error),
  });
  for await (const _ of result.fullStream);
  return body != null ? { body } : { error: errors.map((e) => `${e.name}: ${e.message}`).join("; ") };
}

function reducePart(p, ids) {
  const id = (v) => {
    if (ids.wire.has(v)) return v;
    if (!ids.generated.has(v)) ids.generated.set(v, `gen-${ids.generated.size}`);
    return ids.generated.get(v);
  };
  switch (p.type) {
    case "response-metadata":
      return { type: p.type, ...(p.id !== undefined && { id: p.id }), ...(p.modelId !== undefined && { modelId: p.modelId }) };
    case "tool-input-start":
      return { type: p.type, id: id(p.id), toolName: p.toolName };
    case "tool-input-delta":
      return { type: p.type, id: id(p.id), delta: p.delta };
    case "tool-input-end":
      return { type: p.type, id: id(p.id) };
    case "tool-call":
      return { type: p.type, toolCallId: id(p.toolCallId), toolName: p.toolName, input: p.input };
    case "finish": {
      const u = p.usage;
      return {
        type: p.type,
        finishReason: p.finishReason,
        usage: {
          input: u.inputTokens.total ?? null,
          output: u.outputTokens.total ?? null,
          reasoning: u.outputTokens.reasoning ?? null,
          cached: u.inputTokens.cacheRead ?? null,
        },
        providerMetadata: p.providerMetadata,
      };
    }
    case "error":
      return p.error instanceof Error
        ? { type: "error", malformed: true }
        : { type: "error", kind: p.error.type ?? p.error.code ?? null, message: p.error.message };
    default:
      return p;
  }
}

async function decodeParts(c) {
  const wire = new Set([...c.sse.matchAll(/"id":"(call[^"]*)"/g)].map((m) => m[1]));
  const ids = { wire, generated: new Map() };
  const parts = [];
  try {
    const { stream } = await chatModel("gpt-4o-mini", c.sse).doStream({
      prompt: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    });
    for await (const p of stream) if (p.type !== "stream-start") parts.push(reducePart(p, ids));
  } catch (e) {
    parts.push({ thrown: { statusCode: e.statusCode ?? null, message: e.message } });
  }
  return parts;
}

const requests = {};
for (const c of read("request-cases.json")) requests[c.name] = await requestBody(c);
write("request-expected.json", requests);

const decoded = {};
for (const c of read("decode-cases.json")) decoded[c.name] = await decodeParts(c);
write("decode-expected.json", decoded);
