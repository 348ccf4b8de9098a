// A run that went idle and exited is continued by the next message (§5.5,
// §7.6): a new run id, the same transcript.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWrangler } from "./wrangler.mjs";

const SECRET = "tr_dev_headstart_local";
let worker;
before(async () => {
  worker = await startWrangler({
    vars: { HEADSTART_SCRIPTED_TTFB_MS: "5", HEADSTART_SCRIPTED_TOKEN_MS: "1", HEADSTART_AGENT_IDLE_TIMEOUT_SECS: "1", HEADSTART_AGENT_TURN_TIMEOUT_SECS: "2" },
  });
});
after(async () => {
  await worker?.stop();
});

const auth = { authorization: `Bearer ${SECRET}` };
const session = async (id) => (await fetch(`${worker.url}/api/v1/sessions/${id}`, { headers: auth })).json();

async function say(id, text, n) {
  const body = JSON.stringify({ kind: "message", payload: { chatId: id, trigger: "submit-message", message: { id: `u${n}`, role: "user", parts: [{ type: "text", text }] } } });
  const res = await fetch(`${worker.url}/realtime/v1/sessions/${id}/in/append`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body });
  assert.equal(res.status, 200);
  const { seq } = await res.json();
  // Wait for the turn-complete that answers this message.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const out = (await (await fetch(`${worker.url}/realtime/v1/sessions/${id}/out/records`, { headers: auth })).json()).records;
    const done = out.some((r) => (r.headers ?? []).some(([k, v]) => k === "session-in-event-id" && Number(v) >= seq));
    if (done) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no turn-complete for .in seq ${seq}`);
}

test("an exited run is continued by the next message", async () => {
  const id = `cont_${process.pid}`;
  const created = await fetch(`${worker.url}/api/v1/sessions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ type: "chat.agent", externalId: id, taskIdentifier: "headstart-agent", triggerConfig: { basePayload: { messages: [], trigger: "preload", chatId: id } } }),
  });
  assert.equal(created.status, 201);
  const firstRun = (await created.json()).runId;
  await say(id, "hello", 1);
  // Past the turn timeout the run exits.
  await new Promise((r) => setTimeout(r, 3500));
  assert.equal((await session(id)).currentRunId, firstRun);
  await say(id, "What's the weather in Rome?", 2);
  const after = await session(id);
  assert.notEqual(after.currentRunId, firstRun, "a continuation run answered");
  const transcript = await (await fetch(`${worker.url}/api/chats/${id}/messages`, { headers: auth })).json();
  assert.deepEqual(transcript.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
  assert.ok(transcript[3].parts.some((p) => p.type === "tool-get_weather" && p.state === "output-available"));
});
