// The headstart package imported by a Cloudflare Worker (examples/cloudflare,
// through the package's `workerd` export condition) under `wrangler dev`,
// serving the head start against the self-hosted platform in another
// `wrangler dev`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWrangler } from "../e2e/wrangler.mjs";
import { readUiStream } from "./ui-stream.mjs";

const SECRET = "tr_dev_headstart_local";
let platform;
let example;
before(async () => {
  platform = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
  example = await startWrangler({ config: "examples/cloudflare/wrangler.toml", vars: { PLATFORM_URL: platform.url } });
});
after(async () => {
  await example?.stop();
  await platform?.stop();
});

const user = (text) => [{ id: "u1", role: "user", parts: [{ type: "text", text }] }];
const post = (body, signal) =>
  fetch(`${example.url}/api/chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
const ins = async (id) =>
  (await (await fetch(`${platform.url}/realtime/v1/sessions/${id}/in/records`, { headers: { authorization: `Bearer ${SECRET}` } })).json()).records.map(
    (r) => JSON.parse(r.data).kind,
  );

test("a tool turn through the package on workerd", async () => {
  const id = `workerd_tool_${process.pid}`;
  const res = await post({ chatId: id, headStartMessages: user("What's the weather in Paris?") });
  assert.equal(res.status, 200);
  assert.ok(res.headers.get("x-trigger-chat-access-token"));
  const { message, chunks } = await readUiStream(res.body);
  assert.equal(chunks.filter((c) => c.type === "start").length, 2);
  assert.equal(message.parts.find((p) => p.type === "tool-get_weather")?.state, "output-available");
  assert.deepEqual(chunks.slice(-2).map((c) => c.type), ["trigger:turn-complete", "trigger:session-state"]);
  assert.deepEqual(await ins(id), ["handover"]);
});

test("bad input and a disconnect through the package on workerd", async () => {
  assert.equal((await post({ chatId: "" })).status, 400);
  const id = `workerd_gone_${process.pid}`;
  const ctl = new AbortController();
  const res = await post({ chatId: id, headStartMessages: user("A long story [fault:stall]") }, ctl.signal);
  const reader = res.body.getReader();
  let seen = "";
  while (!seen.includes("text-delta")) seen += new TextDecoder().decode((await reader.read()).value);
  ctl.abort();
  let kinds = [];
  // Generous: with many workerd processes on 2 cores the cancel can take a while to travel.
  for (let i = 0; i < 400 && !kinds.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    kinds = await ins(id);
  }
  assert.deepEqual(kinds, ["handover-skip"]);
});
