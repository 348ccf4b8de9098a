// A loopback model server that speaks the Anthropic Messages streaming API
// (`POST /v1/messages`, SSE), so real provider code — ours, and the AI
// SDK's @ai-sdk/anthropic — calls it exactly as it calls Anthropic. It
// answers by rule, at a set pace:
//
// - the last user turn holds tool results → a final text built from them;
// - "weather in <City>" → a short text, then one `get_weather` tool call;
// - anything else → a text of `words` words;
// - "[fault:stall]" in the last user text → half of that text, then
//   nothing, with the connection held open (a model gone quiet).
//
// Time to first byte (`ttfbMs`, default 389 ms, the seed's measured LLM
// TTFB) is the wait before the first event; then one delta every `tokenMs`.
// Every request is recorded with when it arrived and when its first byte
// left (`performance.now()` of this process), for benchmarks that subtract
// the model's own latency.
import http from "node:http";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Word-sized deltas that keep their trailing space, as models stream them. */
function tokens(text) {
  return text.match(/\S+\s*/g) ?? [];
}

function lastUser(messages) {
  const m = [...messages].reverse().find((x) => x.role === "user");
  if (!m) return { text: "", results: [] };
  const blocks = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
  return {
    text: blocks.filter((b) => b.type === "text").map((b) => b.text).join(" "),
    results: blocks.filter((b) => b.type === "tool_result"),
  };
}

function resultText(block) {
  const c = block.content;
  const text = typeof c === "string" ? c : (c ?? []).map((p) => p.text ?? "").join("");
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && "city" in v) return `It is ${v.temperatureC} °C and ${v.condition} in ${v.city}.`;
  } catch {}
  return `The tool said: ${text.slice(0, 200)}`;
}

/** What the model says to a request body: text, maybe tool calls, maybe a stall. */
export function answer(body, { words = 40 } = {}) {
  const { text, results } = lastUser(body.messages ?? []);
  if (text.includes("[fault:stall]")) return { text: "Once upon a time there was a sea so wide that", calls: [], stallAfter: 4 };
  if (results.length) return { text: results.map(resultText).join(" "), calls: [] };
  const city = text.match(/weather in ([A-Z][\p{L}-]+)/u)?.[1];
  const hasWeather = (body.tools ?? []).some((t) => t.name === "get_weather");
  if (city && hasWeather) return { text: `Let me check the weather in ${city}.`, calls: [{ name: "get_weather", input: { city } }] };
  const filler = "Hello! This is the loopback model answering at a steady pace so that streaming can be measured end to end.".split(" ");
  return { text: Array.from({ length: words }, (_, i) => filler[i % filler.length]).join(" "), calls: [] };
}

/**
 * @param {{ ttfbMs?: number, tokenMs?: number, words?: number, host?: string, port?: number }} [options]
 * @returns {Promise<{ url: string, baseURL: string, requests: object[], stop: () => Promise<void> }>}
 *   `baseURL` ends in `/v1` (what the providers take).
 */
export async function startAnthropicServer({ ttfbMs = 389, tokenMs = 10, words = 40, host = "127.0.0.1", port = 0 } = {}) {
  const requests = [];
  let calls = 0;
  const server = http.createServer(async (req, res) => {
    if (req.method !== "POST" || !req.url.endsWith("/messages")) {
      res.writeHead(404, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: `no route ${req.method} ${req.url}` } }));
    }
    const record = { at: performance.now(), firstByteAt: null, endAt: null, closedEarly: false, kind: "text" };
    requests.push(record);
    let raw = "";
    for await (const chunk of req) raw += chunk;
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "body is not JSON" } }));
    }
    const reply = answer(body, { words });
    record.kind = reply.calls.length ? "tool-call" : lastUser(body.messages ?? []).results.length ? "tool-result" : "text";
    let gone = false;
    res.on("close", () => {
      if (!res.writableFinished) (gone = true), (record.closedEarly = true);
    });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": `req_loop_${++calls}` });
    res.flushHeaders();
    const send = (event, data) => !gone && res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    await sleep(ttfbMs);
    if (gone) return;
    record.firstByteAt = performance.now();
    const id = `msg_loop_${calls}`;
    const model = body.model ?? "claude-loopback";
    send("message_start", { message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: Math.ceil(raw.length / 4), output_tokens: 1 } } });
    let index = 0;
    const pieces = tokens(reply.text);
    if (pieces.length) {
      send("content_block_start", { index, content_block: { type: "text", text: "" } });
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0) await sleep(tokenMs);
        if (gone) return;
        if (i === reply.stallAfter) return; // held open until the client leaves
        send("content_block_delta", { index, delta: { type: "text_delta", text: pieces[i] } });
      }
      send("content_block_stop", { index });
      index++;
    }
    for (const call of reply.calls) {
      await sleep(tokenMs);
      if (gone) return;
      send("content_block_start", { index, content_block: { type: "tool_use", id: `toolu_loop_${calls}_${index}`, name: call.name, input: {} } });
      const json = JSON.stringify(call.input);
      const mid = Math.floor(json.length / 2);
      for (const part of [json.slice(0, mid), json.slice(mid)]) {
        await sleep(tokenMs);
        send("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: part } });
      }
      send("content_block_stop", { index });
      index++;
    }
    send("message_delta", { delta: { stop_reason: reply.calls.length ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: pieces.length + 8 * reply.calls.length } });
    send("message_stop", {});
    record.endAt = performance.now();
    res.end();
  });
  server.listen(port, host);
  await once(server, "listening");
  const url = `http://${host}:${server.address().port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

// `node tests/js/anthropic-server.mjs [--ttfb 389] [--token 10] [--port 0]`: serve until killed.
if (fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, d) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
  const s = await startAnthropicServer({ ttfbMs: arg("--ttfb", 389), tokenMs: arg("--token", 10), port: arg("--port", 0) });
  console.log(`listening ${s.baseURL}`);
}
