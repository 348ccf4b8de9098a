// Writes the SDK's answers for the Responses provider's request tests:
//
//   request-cases.json -> request-expected.json
//     { name: { body } | { error } }: the request body `streamText` makes
//     `@ai-sdk/openai`'s responses model send (via a capturing `fetch`), or
//     the error the call fails with before sending.
//
// usage: node_modules/.bin/node src/provider/openai/responses/testdata/generate.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createOpenAI } from "@ai-sdk/openai";
import { jsonSchema, stepCountIs, streamText, tool } from "ai";

globalThis.AI_SDK_LOG_WARNINGS = false;
const dir = dirname(fileURLToPath(import.meta.url));
const read = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));

const SSE =
  'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","created_at":1,"model":"m"}}\n\n' +
  'event: response.completed\ndata: {"type":"response.completed","sequence_number":1,"response":{"usage":null}}\n\n';

function model(id, capture) {
  const fetch = async (_url, init) => {
    capture(init.body);
    const bytes = new TextEncoder().encode(SSE);
    return new Response(new ReadableStream({ start(c) { c.enqueue(bytes); c.close(); } }), {
      status: 200,
      headers: { "content-type": "text/event-stream" },
    });
  };
  return createOpenAI({ baseURL: "http://localhost/v1", apiKey: "test-key", fetch }).responses(id ?? "gpt-4o-mini");
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
    model: model(c.model, (b) => (body = b)),
    system: c.system,
    messages: c.messages,
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
  try {
    for await (const _ of result.fullStream);
  } catch (e) {
    errors.push(e);
  }
  return body != null ? { body } : { error: errors.map((e) => `${e.name}: ${e.message}`).join("; ") };
}

const out = {};
for (const c of read("request-cases.json")) out[c.name] = await requestBody(c);
writeFileSync(join(dir, "request-expected.json"), JSON.stringify(out, null, 1) + "\n");
