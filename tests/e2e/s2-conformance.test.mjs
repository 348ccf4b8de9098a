// Conformance on the real S2 server (issue 16, points 2 and 3): the hosted
// platform path, where the handler writes step 1 to `.out` through S2's own
// API with the credentials `PUT …/out` returns. A stand-in platform
// (tests/e2e/s2-standin.mjs) hands out s2-lite credentials; four handlers
// run the same first turns against it:
//
//   ours     the JS package on Node (fetch transport, JSON appends)
//   ours-wkd the release worker on workerd, with TRIGGER_API_URL set
//   ts-node  the TypeScript `chat.headStart` 4.8.3 on Node (S2S over h2c)
//   ts-wkd   the same handler bundled for Workers, on workerd (fetch transport)
//
// Each turn's `.out` is read back with the official client
// (@s2-dev/streamstore) and the records are compared: bodies, headers,
// envelope ids, how they were batched, the handler's `Last-Event-ID` cursor
// against real S2 seq numbers, and the session-state cursor the browser gets.
// The comparison table is printed (README "Conformance with real S2").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { buildAnchor } from "../../bench/anchor/build.mjs";
import { startWrangler } from "./wrangler.mjs";
import { startAnthropicServer } from "../js/anthropic-server.mjs";
import { startS2Lite } from "./s2lite.mjs";
import { AGENT_TEXT, STANDIN_SECRET, s2Proxy, startStandIn } from "./s2-standin.mjs";
import { firstTurn, inRecords, normalizeChunks, outRecords, oursOnNode, tsOnNode } from "./s2-turns.mjs";

let s2, proxy, standin, model, handlers;
const turns = {}; // `${handler}/${scenario}` → what the turn left
let n = 0;

before(async () => {
  s2 = await startS2Lite();
  await s2.createBasin();
  // The fetch transports (ours, workerd) go through a recording proxy, to
  // see their appends one by one; the h2c one (Node) goes to s2-lite itself.
  proxy = await s2Proxy(s2.url);
  const viaProxy = (key) => /^(cloud)?(ours|ourswkd|tswkd)[ _]/.test(key);
  standin = await startStandIn({ s2, credentials: (key) => (viaProxy(key) ? { "X-S2-Endpoint": proxy.endpoint } : undefined) });
  model = await startAnthropicServer({ ttfbMs: 20, tokenMs: 5 });
  const common = { platformUrl: standin.url, secretKey: STANDIN_SECRET, modelBaseURL: model.baseURL };
  await buildAnchor();
  const model_ = { ANTHROPIC_BASE_URL: model.baseURL, ANTHROPIC_API_KEY: "test", HEADSTART_MODEL: "claude-loopback" };
  const [ours, oursWkd, tsNode, tsWkd] = await Promise.all([
    oursOnNode(common),
    startWrangler({ vars: { TRIGGER_API_URL: standin.url, TRIGGER_SECRET_KEY: STANDIN_SECRET, HEADSTART_PROVIDER: "anthropic", ...model_ } }),
    tsOnNode(common),
    startWrangler({
      config: "bench/anchor/wrangler.toml",
      vars: { TRIGGER_API_URL: standin.url, TRIGGER_SECRET_KEY: STANDIN_SECRET, ...model_ },
    }),
  ]);
  handlers = { ours, "ours-wkd": oursWkd, "ts-node": tsNode, "ts-wkd": tsWkd };
});
after(async () => {
  for (const h of Object.values(handlers ?? {})) await h?.stop();
  await standin?.stop();
  await proxy?.stop();
  await model?.stop();
  await s2?.stop();
});

const SCENARIOS = { text: "hello there", tool: "What's the weather in Paris?" };

async function run(handler, scenario, { prefix = "", infix = "" } = {}) {
  const chatId = `${prefix}${handler.replace("-", "")}${infix}_${scenario}_${process.pid}_${++n}`;
  const { chunks, message } = await firstTurn(handlers[handler].url, chatId, SCENARIOS[scenario]);
  const out = await outRecords(s2.endpoint, chatId);
  const inn = await inRecords(s2.endpoint, chatId);
  const sub = standin.calls.filter((c) => c.method === "GET" && c.path.endsWith(`/${encodeURIComponent(chatId)}/out`));
  const appends = proxy.requests.filter((r) => r.method === "POST" && r.path.includes(encodeURIComponent(`/sessions/${chatId}/out`)));
  const turn = { chatId, chunks, message, out, inn, sub, appends };
  turns[`${handler}/${scenario}`] = turn;
  return turn;
}

/** What every handler must leave on real S2 after one first turn. */
function assertTurn({ chunks, message, out, inn, sub }, scenario) {
  const handover = JSON.parse(inn[0].envelope.data);
  assert.equal(inn.length, 1, "one .in record: the handover");
  assert.equal(handover.kind, "handover");
  assert.equal(handover.isFinal, scenario === "text");
  assert.equal(handover.messageId, message.id);
  // `.out` = [step 1][agent][turn-complete], each data record `{data, id}`
  // with no headers and a 7-character envelope id, all ids distinct.
  const data = out.filter((r) => !r.control);
  for (const r of data) {
    assert.deepEqual(r.headers, [], "data records carry no headers");
    assert.deepEqual(Object.keys(r.envelope).sort(), ["data", "id"]);
    assert.match(r.envelope.id, /^[A-Za-z0-9_-]{7}$/);
  }
  assert.equal(new Set(data.map((r) => r.envelope.id)).size, data.length, "envelope ids are unique");
  assert.deepEqual(out.map((r) => r.seq), out.map((_, i) => i), "seq numbers from 0, no gaps");
  assert.ok(out.at(-1).control && out.filter((r) => r.control).length === 1, "one control record, the last");
  // The browser got exactly `.out`'s data, then the two Trigger chunks; its
  // session-state cursor is the turn-complete's real S2 seq.
  assert.deepEqual(chunks.filter((c) => !c.type.startsWith("trigger:")), data.map((r) => r.envelope.data));
  assert.deepEqual(chunks.slice(-2).map((c) => c.type), ["trigger:turn-complete", "trigger:session-state"]);
  assert.equal(chunks.at(-1).lastEventId, String(out.at(-1).seq));
  // The splice subscribed once, with Last-Event-ID = the seq of the
  // handler's own last step-1 record (the record before the agent's first).
  const agentFirst = scenario === "text" ? out.length - 1 : out.findIndex((r, i) => i > 0 && r.envelope?.data.type === "start");
  assert.ok(agentFirst > 0, "the agent's records follow step 1's");
  assert.equal(sub.length, 1, "one .out subscription");
  assert.equal(sub[0].lastEventId, String(agentFirst - 1), "Last-Event-ID = seq of the handler's last step-1 record");
  if (scenario === "tool") {
    const starts = chunks.filter((c) => c.type === "start");
    assert.equal(starts.length, 2);
    assert.equal(starts[0].messageId, starts[1].messageId);
    assert.ok(message.parts.some((p) => p.type === "text" && p.text === AGENT_TEXT("Paris")), "the agent's text is spliced in");
  }
}

const HANDLERS = ["ours", "ours-wkd", "ts-node", "ts-wkd"];
for (const handler of HANDLERS) {
  for (const scenario of Object.keys(SCENARIOS)) {
    test(`${handler} on s2-lite: ${scenario} turn — records, cursor and splice`, async () => assertTurn(await run(handler, scenario), scenario));
  }
}

// The hosted form of the stream name (a leading `/`) and a chat id with a
// space and a slash in it: encoded the same way by every handler, and
// accepted by real S2. (Not a non-ASCII one: a Node server sends the
// X-S2-Stream-Name header as UTF-8 bytes, which fetch on Node — ours and the
// TypeScript handler alike — reads as Latin-1, so both write to a mangled
// name; workerd reads it as UTF-8. README "Conformance with real S2".)
for (const handler of HANDLERS) {
  test(`${handler} on s2-lite: tool turn on /sessions/{key}/out with an unusual chat id`, async () => {
    const turn = await run(handler, "tool", { prefix: "cloud", infix: " a/b" });
    assertTurn(turn, "tool");
  });
}

/** The comparable shape of a turn's step-1 records: chunks with random ids named by order. */
const step1 = (t) => {
  const data = t.out.filter((r) => !r.control);
  const agentFirst = t.chunks.filter((c) => c.type === "start").length > 1 ? data.findIndex((r, i) => i > 0 && r.envelope.data.type === "start") : data.length;
  return normalizeChunks(data.slice(0, agentFirst).map((r) => r.envelope.data));
};
/** A turn's handover record with its random ids named by order (JSON text, so key order counts too). */
function handoverShape(t) {
  const text = t.inn[0].envelope.data;
  const ids = new Map();
  return text
    .replace(/"(messageId|toolCallId|id)":"([^"]+)"/g, (_, k, v) => {
      if (!ids.has(v)) ids.set(v, `<id${ids.size + 1}>`);
      return `"${k}":"${ids.get(v)}"`;
    })
    .replace(/"input_tokens":\d+/g, '"input_tokens":"<n>"');
}
/** Appends as the fetch transports sent them (proxy), else as distinct S2 timestamps (a lower bound). */
const batches = (t) =>
  t.appends.length
    ? t.appends.map((a) => JSON.parse(a.body).records.length)
    : Object.values(Object.groupBy(t.out.slice(0, step1(t).length), (r) => r.timestamp)).map((g) => g.length);

test("comparison: our records against the TypeScript handler's on real S2", (t) => {
  const rows = [];
  for (const scenario of Object.keys(SCENARIOS)) {
    const [ours, oursWkd, tsNode, tsWkd] = HANDLERS.map((h) => turns[`${h}/${scenario}`]);
    if (!ours || !oursWkd || !tsNode || !tsWkd) return t.skip("a turn failed above");
    // Step 1 as written: the same chunks in the same order, whichever handler.
    assert.deepEqual(step1(ours), step1(tsNode), `${scenario}: ours vs ts-node`);
    assert.deepEqual(step1(tsWkd), step1(tsNode), `${scenario}: ts-wkd vs ts-node`);
    assert.deepEqual(step1(oursWkd), step1(tsNode), `${scenario}: ours-wkd vs ts-node`);
    // The handover each sent (`.in`): the same record, random ids aside.
    assert.deepEqual(handoverShape(ours), handoverShape(tsNode), `${scenario}: handover, ours vs ts-node`);
    assert.deepEqual(handoverShape(tsWkd), handoverShape(tsNode), `${scenario}: handover, ts-wkd vs ts-node`);
    assert.deepEqual(handoverShape(oursWkd), handoverShape(tsNode), `${scenario}: handover, ours-wkd vs ts-node`);
    for (const [name, turn] of Object.entries({ ours, "ours-wkd": oursWkd, "ts-node": tsNode, "ts-wkd": tsWkd })) {
      const data = turn.out.filter((r) => !r.control);
      rows.push({
        scenario,
        handler: name,
        "records (step 1 / agent / control)": `${step1(turn).length} / ${data.length - step1(turn).length} / ${turn.out.length - data.length}`,
        "step-1 appends (records each)": batches(turn).join("+"),
        "append content-type": turn.appends[0]?.headers["content-type"] ?? "s2s/proto (h2c)",
        "s2-basin header": turn.appends.length ? String(turn.appends.every((a) => a.headers["s2-basin"] === "headstart-conformance")) : "n/a",
        "Last-Event-ID": turn.sub[0]?.lastEventId,
        "session-state": turn.chunks.at(-1).lastEventId,
      });
    }
  }
  for (const line of table(rows).split("\n")) t.diagnostic(line);
});

function table(rows) {
  const cols = Object.keys(rows[0]);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(" | ")} |`;
  return [line(cols), line(w.map((x) => "-".repeat(x))), ...rows.map((r) => line(cols.map((c) => r[c])))].join("\n");
}
