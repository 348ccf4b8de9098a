// S2 faults on the real server (issue 16, point 5), on the hosted platform
// path: our handler (the JS package on Node) writes step 1 to `.out` on
// s2-lite through the credentials of the stand-in platform, and S2 fails
// under it — the stream missing, the token refused, s2-lite restarted
// mid-turn, an append slow to answer, one that hangs past its deadline.
// Whatever S2 does, the browser gets its turn well-formed (the AI SDK's
// parser reads it to the end) and the agent gets the handover (or
// handover-skip): never left waiting. One fault (the token refused after a
// first append) is also put to the TypeScript handler on workerd, side by
// side.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { buildAnchor } from "../../bench/anchor/build.mjs";
import { startWrangler } from "./wrangler.mjs";
import { startAnthropicServer } from "../js/anthropic-server.mjs";
import { startS2Lite } from "./s2lite.mjs";
import { AGENT_TEXT, STANDIN_SECRET, s2Proxy, startStandIn } from "./s2-standin.mjs";
import { firstTurn, outRecords, oursOnNode } from "./s2-turns.mjs";

const NO_CREATE_BASIN = "headstart-nocreate";
let s2, proxy, standin, model, slowModel, ours, oursSlow, oursLinger, anchor;
/** Per chat: the `X-S2-*` overrides the stand-in hands out, and the proxy's fault. */
const plan = new Map();
let n = 0;

before(async () => {
  s2 = await startS2Lite();
  await s2.createBasin();
  await s2.createBasin(NO_CREATE_BASIN, {});
  proxy = await s2Proxy(s2.url, {
    fault: (req) => {
      const chat = [...plan.keys()].find((k) => req.path.includes(encodeURIComponent(`/sessions/${k}/`)));
      return chat ? plan.get(chat).fault?.(req) : undefined;
    },
  });
  standin = await startStandIn({ s2, credentials: (key) => ({ "X-S2-Endpoint": proxy.endpoint, ...(plan.get(key)?.creds ?? {}) }) });
  model = await startAnthropicServer({ ttfbMs: 10, tokenMs: 2 });
  // 40 words at 40 ms: step 1 streams for about 1.6 s, time to restart s2-lite under it.
  slowModel = await startAnthropicServer({ ttfbMs: 10, tokenMs: 40 });
  const common = { platformUrl: standin.url, secretKey: STANDIN_SECRET, teeLingerMs: 0 };
  ours = await oursOnNode({ ...common, modelBaseURL: model.baseURL });
  oursSlow = await oursOnNode({ ...common, modelBaseURL: slowModel.baseURL });
  // The platform's linger (200 ms), as the TypeScript handler: step 1 goes in several appends.
  oursLinger = await oursOnNode({ platformUrl: standin.url, secretKey: STANDIN_SECRET, modelBaseURL: slowModel.baseURL });
  await buildAnchor();
  anchor = await startWrangler({
    config: "bench/anchor/wrangler.toml",
    vars: { TRIGGER_API_URL: standin.url, TRIGGER_SECRET_KEY: STANDIN_SECRET, ANTHROPIC_BASE_URL: slowModel.baseURL, ANTHROPIC_API_KEY: "test", HEADSTART_MODEL: "claude-loopback" },
  });
});
after(async () => {
  await ours?.stop();
  await oursSlow?.stop();
  await oursLinger?.stop();
  await anchor?.stop();
  await standin?.stop();
  await proxy?.stop();
  await model?.stop();
  await slowModel?.stop();
  await s2?.stop();
});

function chat(name, entry = {}) {
  const id = `fault_${name}_${process.pid}_${++n}`;
  plan.set(id, entry);
  return id;
}

/** The turn ended well-formed, with the agent's answer spliced in after a handover. */
function assertWellFormed({ chunks, message }, { tool }) {
  assert.equal(chunks[0].type, "start");
  assert.deepEqual(chunks.slice(-2).map((c) => c.type), ["trigger:turn-complete", "trigger:session-state"]);
  if (tool) {
    assert.ok(message.parts.some((p) => p.type === "text" && p.text === AGENT_TEXT("Paris")), "the agent's step 2 reached the browser");
    assert.equal(message.parts.find((p) => p.type === "tool-get_weather")?.state, "output-available", "the agent's tool result reached the browser");
  }
}
const startsOf = (chunks) => chunks.filter((c) => c.type === "start").length;

for (const tool of [false, true]) {
  const prompt = tool ? "What's the weather in Paris?" : "hello there";
  const kind = tool ? "tool" : "text";

  test(`${kind} turn: the .out stream missing (no auto-create) — step 1 live, the agent's part spliced, nothing repeated`, async () => {
    const id = chat(`missing${kind}`, { creds: { "X-S2-Basin": NO_CREATE_BASIN } });
    const turn = await firstTurn(ours.url, id, prompt);
    assertWellFormed(turn, { tool });
    const refused = proxy.requests.filter((r) => r.path.includes(encodeURIComponent(`/sessions/${id}/out`)));
    assert.ok(refused.length >= 1 && refused.every((r) => r.status === 404), "S2 answered 404 to the tee");
    assert.deepEqual(standin.inbox(id), ["handover"]);
    assert.equal(startsOf(turn.chunks), tool ? 2 : 1, "step 1 is not replayed to the browser");
  });

  test(`${kind} turn: the S2 token refused (403) — the turn completes, the agent answered`, async () => {
    const id = chat(`token${kind}`, {
      creds: { "X-S2-Access-Token": "refused-token" },
      fault: (req) => (req.headers.authorization === "Bearer refused-token" ? { status: 403, body: { message: "invalid access token", code: "permission_denied" } } : undefined),
    });
    const turn = await firstTurn(ours.url, id, prompt);
    assertWellFormed(turn, { tool });
    assert.deepEqual(standin.inbox(id), ["handover"]);
    assert.equal(startsOf(turn.chunks), tool ? 2 : 1);
    const out = await outRecords(s2.endpoint, id);
    assert.equal(out.filter((r) => r.envelope?.data.type === "start").length, tool ? 1 : 0, ".out holds only the agent's records");
  });

  test(`${kind} turn: every S2 append slow (1.5 s) — the tee waits it out and the cursor holds`, async () => {
    const id = chat(`slow${kind}`, { fault: (req) => (req.method === "POST" ? { delayMs: 1500 } : undefined) });
    const turn = await firstTurn(ours.url, id, prompt);
    assertWellFormed(turn, { tool });
    const out = await outRecords(s2.endpoint, id);
    const data = out.filter((r) => !r.control).map((r) => r.envelope.data);
    assert.deepEqual(turn.chunks.filter((c) => !c.type.startsWith("trigger:")), data, ".out = what the browser got");
    assert.equal(turn.chunks.at(-1).lastEventId, String(out.at(-1).seq));
  });
}

test("the first S2 append hangs past the 5 s attempt deadline: the retry lands, the turn completes, the late copy is deduped", async () => {
  let first = true;
  const id = chat("hang", {
    fault: (req) => {
      if (req.method !== "POST" || !first) return undefined;
      first = false;
      return { delayMs: 7000 };
    },
  });
  const turn = await firstTurn(ours.url, id, "What's the weather in Paris?");
  assertWellFormed(turn, { tool: true });
  assert.equal(startsOf(turn.chunks), 2);
  // S2 appends are retried even when they may have landed (the SDK's
  // policy too): the hung attempt lands later, a second copy of the same
  // records under the same envelope ids, which readers drop.
  const late = Date.now() + 10_000;
  let out = await outRecords(s2.endpoint, id);
  while (Date.now() < late && out.filter((r) => r.envelope?.data.type === "start").length < 3) {
    await new Promise((r) => setTimeout(r, 200));
    out = await outRecords(s2.endpoint, id);
  }
  const data = out.filter((r) => !r.control);
  const unique = data.filter((r, i) => data.findIndex((x) => x.envelope.id === r.envelope.id) === i);
  assert.ok(unique.length < data.length, "the hung append landed too");
  assert.deepEqual(turn.chunks.filter((c) => !c.type.startsWith("trigger:")), unique.map((r) => r.envelope.data), "the browser got each record once");
});

test("s2-lite restarted mid-turn (streams lost): the turn ends well-formed and the agent is not left waiting", async () => {
  const id = chat("restart", { creds: {} });
  const res = await fetch(`${oursSlow.url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ chatId: id, trigger: "submit-message", headStartMessages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "What's the weather in Paris?" }] }] }),
    signal: AbortSignal.timeout(60_000),
  });
  assert.equal(res.status, 200);
  const [a, b] = res.body.tee();
  const { readUiStream } = await import("../js/ui-stream.mjs");
  const parsed = readUiStream(b, { terminateOnError: false });
  // Restart once the first text is on the wire (step 1 is mid-stream).
  const reader = a.getReader();
  let seen = "";
  while (!seen.includes("text-delta")) {
    const { value, done } = await reader.read();
    assert.ok(!done, "the stream ended before any text");
    seen += new TextDecoder().decode(value);
  }
  await s2.restart();
  await s2.createBasin();
  (async () => {
    while (!(await reader.read()).done);
  })();
  const turn = await parsed;
  assert.deepEqual(standin.inbox(id), ["handover"]);
  assertWellFormed(turn, { tool: true });
  assert.equal(startsOf(turn.chunks), 2, "the agent's start arrived, and step 1's was not replayed");
  assert.equal(turn.message.parts.find((p) => p.type === "tool-get_weather")?.state, "output-available", "the agent's tool result arrived");
});

test("the token refused after a first append: ours and the TypeScript handler (workerd) both finish the turn; only ours sends step 1 once", async () => {
  const refuseAfterFirst = () => {
    let appends = 0;
    return (req) => (req.method === "POST" && ++appends > 1 ? { status: 403, body: { message: "token revoked", code: "permission_denied" } } : undefined);
  };
  const result = {};
  for (const [name, url] of [["ours", oursLinger.url], ["ts-wkd", anchor.url]]) {
    const id = chat(`revoked${name.replace("-", "")}`, { fault: refuseAfterFirst() });
    const turn = await firstTurn(url, id, "hello there");
    assert.deepEqual(standin.inbox(id), ["handover"], name);
    assert.deepEqual(turn.chunks.slice(-2).map((c) => c.type), ["trigger:turn-complete", "trigger:session-state"], name);
    const appends = proxy.requests.filter((r) => r.path.includes(encodeURIComponent(`/sessions/${id}/out`)));
    // (`status` is set only on what reached s2-lite.)
    assert.ok(appends.length >= 2 && appends[0].status === 200 && appends.slice(1).every((r) => r.status === undefined), `${name}: a first append landed, the next were refused`);
    result[name] = turn.chunks.filter((c) => c.type === "start").length;
  }
  // Both read `.out` from the start once their writer failed: ours drops
  // the records it wrote itself (their envelope ids), the SDK forwards them
  // again, so its browser gets the first append's chunks twice.
  assert.equal(result.ours, 1, "ours: step 1 once");
  assert.equal(result["ts-wkd"], 2, "the TypeScript handler: the first append's chunks twice");
});
