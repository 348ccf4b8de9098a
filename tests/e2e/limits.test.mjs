// Abuse limits under `wrangler dev`: the N+1-th head start of one client
// gets 429 JSON with Retry-After (and no session), while another client is
// still served; through the CHAT_RATE_LIMIT binding (simulated by wrangler
// dev) and, without it, the isolate's in-memory limiter at the limits the
// variables set. The first turn's message cap holds too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWrangler } from "./wrangler.mjs";
import { postJson } from "../js/scenarios.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SECRET = "tr_dev_headstart_local";
const FAST = { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" };

/**
 * The repository's wrangler.toml in a temporary directory (paths made
 * absolute, no build step), its rate-limit binding at `limit` a minute, or
 * without it (`limit` null).
 */
function config(limit) {
  let text = readFileSync(join(root, "wrangler.toml"), "utf8")
    .replace(/^main = "(.*)"$/m, (_, p) => `main = ${JSON.stringify(join(root, p))}`)
    .replace(/^directory = "(.*)"$/m, (_, p) => `directory = ${JSON.stringify(join(root, p))}`)
    .replace(/^\[build\]\ncommand = .*$/m, "");
  assert.match(text, /\[\[ratelimits\]\]\nname = "CHAT_RATE_LIMIT"\n.*\nsimple = \{ limit = \d+, period = 60 \}/);
  text = limit === null ? text.replace(/\[\[ratelimits\]\][^[]*/, "") : text.replace(/limit = \d+, period = 60/, `limit = ${limit}, period = 60`);
  const dir = mkdtempSync(join(tmpdir(), "headstart-limits-"));
  writeFileSync(join(dir, "wrangler.toml"), text);
  return { path: join(dir, "wrangler.toml"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });
let n = 0;
const chatId = (name) => `lim_${name}_${process.pid}_${++n}`;

function headStart(worker, client, id, messages = [user("u1", "hi")]) {
  const headers = { "content-type": "application/json", "cf-connecting-ip": client };
  return postJson(`${worker.url}/api/chat`, { headStartMessages: messages, chatId: id }, { headers });
}

/** Whether anything reached the chat's `.out` (a head start writes its step 1 there). */
async function sessionExists(worker, id) {
  const res = await fetch(`${worker.url}/realtime/v1/sessions/${encodeURIComponent(id)}/out/records`, {
    headers: { authorization: `Bearer ${SECRET}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).records.length > 0;
}

/** N head starts of one client pass, the next is refused; another client passes. */
async function limitHolds(worker, limit, retryAfter) {
  for (let i = 0; i < limit; i++) {
    const res = await headStart(worker, "203.0.113.1", chatId("a"));
    assert.equal(res.status, 200, `head start ${i + 1} of ${limit}`);
    await res.text();
  }
  const id = chatId("over");
  const refused = await headStart(worker, "203.0.113.1", id);
  assert.equal(refused.status, 429);
  assert.match(refused.headers.get("content-type"), /application\/json/);
  const after = Number(refused.headers.get("retry-after"));
  assert.ok(retryAfter(after), `Retry-After: ${refused.headers.get("retry-after")}`);
  const body = await refused.json();
  assert.equal(body.code, "rate_limited");
  assert.match(body.error, /try again/);
  assert.equal(await sessionExists(worker, id), false, "nothing written for the refused head start");
  const served = chatId("b");
  const other = await headStart(worker, "198.51.100.7", served);
  assert.equal(other.status, 200, "another client is still served");
  await other.text();
  assert.equal(await sessionExists(worker, served), true, "a served head start writes its step 1");
}

test("the rate-limit binding: the N+1-th head start of a client is refused, another client is served", async () => {
  const conf = config(3);
  const worker = await startWrangler({ config: conf.path, vars: { ...FAST, HEADSTART_RATE_LIMIT_PER_MINUTE: "20" } });
  try {
    // The binding counts in windows of the wall clock (wrangler dev's as
    // Cloudflare's): start early in one, so that the calls share it.
    const into = Date.now() % 60_000;
    if (into > 45_000) await new Promise((r) => setTimeout(r, 60_000 - into + 100));
    await limitHolds(worker, 3, (s) => s === 60);
    assert.doesNotMatch(worker.log(), /no CHAT_RATE_LIMIT rate-limit binding/);
  } finally {
    await worker.stop();
    conf.remove();
  }
});

test("without the binding, the limits of the variables in memory (said once in the log), and the message cap", async () => {
  const conf = config(null);
  const vars = { ...FAST, HEADSTART_RATE_LIMIT_PER_MINUTE: "4", HEADSTART_RATE_LIMIT_BURST: "2", HEADSTART_MAX_HISTORY_MESSAGES: "3" };
  const worker = await startWrangler({ config: conf.path, vars });
  try {
    // 4 a minute: the third waits up to 15 s.
    await limitHolds(worker, 2, (s) => s >= 14 && s <= 15);
    assert.equal(worker.log().match(/no CHAT_RATE_LIMIT rate-limit binding/g)?.length, 1, worker.log());
    const id = chatId("long");
    const long = await headStart(worker, "192.0.2.9", id, [1, 2, 3, 4].map((i) => user(`u${i}`, "x")));
    assert.equal(long.status, 413);
    assert.equal((await long.json()).code, "too_many_messages");
    assert.equal(await sessionExists(worker, id), false);
  } finally {
    await worker.stop();
    conf.remove();
  }
});
