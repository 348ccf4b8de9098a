// Shared by the tests on the real S2 server: the three route handlers under
// test (ours from the JS package on Node, the TypeScript `chat.headStart`
// on Node and on workerd) wired to the S2 stand-in platform and the
// loopback Anthropic model, one first turn posted and read with the AI
// SDK's parser, and the turn's `.out` records read back with the official
// S2 client.
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { createHandler, toNodeListener } from "../../pkg/index.js";
import { readUiStream } from "../js/ui-stream.mjs";
import { postJson } from "../js/scenarios.mjs";
import { readAll, streamName } from "./s2-standin.mjs";

export const MODEL = "claude-loopback";

/** Serves a `(Request) => Response` handler with node:http on a free port. */
export async function serveFetch(handler) {
  const server = http.createServer(toNodeListener(handler));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** Ours: the JS package's handler (Anthropic provider on the loopback model). */
export function oursOnNode({ platformUrl, secretKey, modelBaseURL, ...extra }) {
  return serveFetch(
    createHandler({
      platformUrl,
      secretKey,
      agentId: "headstart-agent",
      provider: "anthropic",
      apiKey: "test",
      baseURL: modelBaseURL,
      model: MODEL,
      local: true,
      maxAttempts: 1,
      ...extra,
    }),
  );
}

/**
 * The TypeScript handler on Node: bench/anchor/worker.ts as it is (Node
 * strips its types), so its S2 writes go over HTTP/2 (S2S), as a Node
 * deployment's do.
 */
export async function tsOnNode({ platformUrl, secretKey, modelBaseURL }) {
  const { default: worker } = await import("../../bench/anchor/worker.ts");
  const env = { TRIGGER_API_URL: platformUrl, TRIGGER_SECRET_KEY: secretKey, ANTHROPIC_BASE_URL: modelBaseURL, ANTHROPIC_API_KEY: "test", HEADSTART_MODEL: MODEL };
  return serveFetch((req) => worker.fetch(req, env));
}

const user = (text) => [{ id: "u1", role: "user", parts: [{ type: "text", text }] }];

/** Posts one first turn and reads it with the AI SDK's parser. */
export async function firstTurn(url, chatId, text, { timeoutMs = 30_000 } = {}) {
  const res = await postJson(`${url}/api/chat`, { headStartMessages: user(text), chatId, trigger: "submit-message" }, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) assert.fail(`${res.status}: ${await res.text()}`);
  return { res, ...(await readUiStream(res.body, { terminateOnError: false })) };
}

export const isControl = (r) => (r.headers ?? []).some(([n]) => n === "trigger-control");

/** A chat's `.out` on s2-lite, decoded: seq, headers, and the envelope of data records. */
export async function outRecords(endpoint, chatId) {
  const records = await readAll(endpoint, streamName(chatId, "out"));
  return records.map((r) => {
    const control = isControl(r);
    const envelope = control ? undefined : JSON.parse(r.body);
    return { seq: Number(r.seqNum), timestamp: Number(r.timestamp), headers: r.headers ?? [], body: r.body, control, envelope };
  });
}

/** A chat's `.in` on s2-lite: the envelopes (`data` is the raw string, §5.5). */
export async function inRecords(endpoint, chatId) {
  return (await readAll(endpoint, streamName(chatId, "in"))).map((r) => ({ seq: Number(r.seqNum), headers: r.headers ?? [], envelope: JSON.parse(r.body) }));
}

/**
 * Random ids replaced by the order they first appear in (message ids,
 * tool call ids, provider ids), so two turns can be compared chunk by chunk.
 */
export function normalizeChunks(chunks) {
  const names = new Map();
  const name = (kind, v) => {
    const k = `${kind}:${v}`;
    if (!names.has(k)) names.set(k, `<${kind}${[...names.keys()].filter((x) => x.startsWith(`${kind}:`)).length + 1}>`);
    return names.get(k);
  };
  return chunks.map((c) => {
    const o = { ...c };
    if (o.messageId) o.messageId = name("message", o.messageId);
    if (o.toolCallId) o.toolCallId = name("call", o.toolCallId);
    const anthropic = o.providerMetadata?.anthropic;
    if (anthropic?.id) {
      // The model's own message id, and its count of the request's bytes:
      // bench/anchor's copies of the three tools have shorter descriptions
      // than ours, so its request is smaller (not an S2 matter).
      const usage = anthropic.usage && { ...anthropic.usage, input_tokens: "<n>" };
      o.providerMetadata = { ...o.providerMetadata, anthropic: { ...anthropic, id: name("model-message", anthropic.id), ...(usage ? { usage } : {}) } };
    }
    return o;
  });
}
