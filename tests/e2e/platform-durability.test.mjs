// Durability of the self-hosted platform: a restart of `wrangler dev` (so of
// every Durable Object) in the middle of a chat, or of a turn, loses no
// `.in`/`.out` record and the chat goes on where it was; and the agent's lifecycle webhook
// (HEADSTART_AGENT_WEBHOOK_URL), which never breaks a turn, even when it fails.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient } from "@trigger.dev/core/v3";
import { startWrangler } from "./wrangler.mjs";
import { SECRET, FAST_MODEL, preloadBody, userMessage, messageChunk, withRaw, readTurn, textOf } from "./platform.mjs";

const state = mkdtempSync(join(tmpdir(), "headstart-durability-"));
/** Webhook events as received, and chats whose events get a 500. */
const hooks = [];
const failing = new Set(["dur-fail"]);
let hookServer;
let vars;
let worker;

before(async () => {
  hookServer = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      let event;
      try {
        event = JSON.parse(body);
      } catch {
        event = { type: "unparsable", body };
      }
      hooks.push({ ...event, path: req.url, contentType: req.headers["content-type"] });
      res.writeHead(failing.has(event.chatId) ? 500 : 200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  vars = { ...FAST_MODEL, HEADSTART_AGENT_WEBHOOK_URL: `http://127.0.0.1:${hookServer.address().port}/hook` };
});
after(async () => {
  await worker?.stop();
  hookServer?.closeAllConnections();
  await new Promise((resolve) => hookServer?.close(resolve) ?? resolve());
  rmSync(state, { recursive: true, force: true });
});

async function restart(extraVars = {}) {
  await worker?.stop();
  worker = undefined;
  worker = await startWrangler({ vars: { ...vars, ...extraVars }, persistTo: state });
  return new ApiClient(worker.url, SECRET);
}

async function transcript(chatId) {
  const res = await fetch(`${worker.url}/api/chats/${encodeURIComponent(chatId)}/messages`, {
    headers: { Authorization: `Bearer ${SECRET}` },
    signal: AbortSignal.timeout(20_000),
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** Waits (bounded) until the webhook has received `n` events for a chat. */
async function hooksFor(chatId, n, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  const mine = () => hooks.filter((h) => h.chatId === chatId);
  while (mine().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return mine();
}

test("a restart mid-chat loses no record, keeps the seqs, and the next turn continues after them", { timeout: 180_000 }, async () => {
  const chatId = "dur-chat";
  let api = await restart();
  await api.createSession(preloadBody(chatId));
  const sent1 = await api.appendToSessionStream(chatId, "in", messageChunk(chatId, userMessage("u1", "hello")), withRaw);
  assert.equal(sent1.raw.seq, 0);
  const turn1 = await readTurn(api, chatId);
  assert.match(textOf(turn1.chunks), /^Hello!/);
  const before = {
    in: (await api.readSessionStreamRecords(chatId, "in")).records,
    out: (await api.readSessionStreamRecords(chatId, "out")).records,
  };
  assert.equal(before.in.length, 1);
  assert.deepEqual(before.out.map((r) => r.seqNum), turn1.seqs);
  const transcript1 = await transcript(chatId);
  assert.equal(transcript1.length, 2);
  assert.equal((await hooksFor(chatId, 4)).length, 4, "turn 1's hooks are out before the restart");

  api = await restart();
  assert.deepEqual((await api.readSessionStreamRecords(chatId, "in")).records, before.in);
  assert.deepEqual((await api.readSessionStreamRecords(chatId, "out")).records, before.out);
  assert.deepEqual(await transcript(chatId), transcript1);
  // A re-create after the restart finds the same session (no new row, no new seqs).
  const again = await api.createSession(preloadBody(chatId));
  assert.equal(again.isCached, true);
  // The X-Part-Id claims survived too: a late retry of message 1 stores nothing.
  const retry = await fetch(`${worker.url}/realtime/v1/sessions/${chatId}/in/append`, {
    method: "POST",
    headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json", "X-Part-Id": before.in[0].id },
    body: messageChunk(chatId, userMessage("u1", "hello")),
    signal: AbortSignal.timeout(20_000),
  });
  assert.deepEqual([retry.status, await retry.json()], [200, { ok: true }]);
  assert.deepEqual((await api.readSessionStreamRecords(chatId, "in")).records, before.in);

  const sent2 = await api.appendToSessionStream(chatId, "in", messageChunk(chatId, userMessage("u2", "What's the weather in Paris?")), withRaw);
  assert.equal(sent2.raw.seq, 1, "`.in` seqs continue");
  const turn2 = await readTurn(api, chatId, { lastEventId: String(turn1.control.seqNum) });
  assert.equal(turn2.seqs[0], turn1.control.seqNum + 1, "`.out` seqs continue right after the old ones");
  assert.equal(turn2.header("session-in-event-id"), "1");
  assert.ok(turn2.chunks.some((c) => c.type === "tool-output-available"));
  assert.match(textOf(turn2.chunks), /in Paris\.$/);

  const out = (await api.readSessionStreamRecords(chatId, "out")).records;
  assert.deepEqual(out.slice(0, before.out.length), before.out, "the old records are untouched");
  assert.deepEqual(out.slice(before.out.length).map((r) => r.seqNum), turn2.seqs);
  const all = await transcript(chatId);
  assert.deepEqual(all.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
  assert.deepEqual(all.slice(0, 2), transcript1);
  assert.equal(all[2].id, "u2");
  assert.ok(all[3].parts.some((p) => p.type === "tool-get_weather" && p.state === "output-available"));
  // The restarted object resumed the same run: no second onChatStart.
  assert.deepEqual((await hooksFor(chatId, 6)).map((h) => h.type), ["onPreload", "onChatStart", "onTurnStart", "onTurnComplete", "onTurnStart", "onTurnComplete"]);
});

test("the webhook gets onPreload, onChatStart (preloaded), onTurnStart and onTurnComplete", { timeout: 120_000 }, async () => {
  const chatId = "dur-hooks";
  const api = worker ? new ApiClient(worker.url, SECRET) : await restart();
  const created = await api.createSession(preloadBody(chatId, { userId: "user_42" }));
  const [preload] = await hooksFor(chatId, 1);
  assert.deepEqual(preload, {
    type: "onPreload", chatId, runId: created.runId, clientData: { userId: "user_42" }, path: "/hook", contentType: "application/json",
  });
  await api.appendToSessionStream(chatId, "in", messageChunk(chatId, userMessage("u1", "hello")));
  const turn = await readTurn(api, chatId);
  const events = await hooksFor(chatId, 4);
  assert.deepEqual(events.map((h) => h.type), ["onPreload", "onChatStart", "onTurnStart", "onTurnComplete"]);
  const [, start, turnStart, complete] = events;
  assert.equal(start.preloaded, true);
  assert.equal(start.continuation, false);
  assert.deepEqual(start.clientData, { userId: "user_42" });
  assert.equal(turnStart.runId, created.runId);
  assert.equal(complete.lastEventId, String(turn.control.seqNum));
  assert.deepEqual(complete.messages.map((m) => m.role), ["user", "assistant"]);
  assert.equal(complete.messages[1].parts.find((p) => p.type === "text").text, textOf(turn.chunks));
});

test("a webhook answering 500 does not break the turn", { timeout: 120_000 }, async () => {
  const chatId = "dur-fail";
  const api = worker ? new ApiClient(worker.url, SECRET) : await restart();
  await api.createSession(preloadBody(chatId));
  await api.appendToSessionStream(chatId, "in", messageChunk(chatId, userMessage("u1", "hello")));
  const turn = await readTurn(api, chatId, { timeoutMs: 60_000 });
  assert.match(textOf(turn.chunks), /^Hello!/);
  assert.ok(turn.header("public-access-token"), "the turn completed normally");
  const events = await hooksFor(chatId, 12, 30_000); // 4 events × 3 attempts
  for (const type of ["onPreload", "onChatStart", "onTurnStart", "onTurnComplete"]) {
    assert.ok(events.filter((h) => h.type === type).length >= 2, `${type} was retried after the 500`);
  }
  assert.equal((await transcript(chatId)).length, 2, "the turn was persisted");
});

test("a restart mid-turn: the resumed run answers the message with no new send, after the records already written", { timeout: 180_000 }, async () => {
  const chatId = "dur-midturn";
  let api = await restart({ HEADSTART_SCRIPTED_TOKEN_MS: "250" });
  await api.createSession(preloadBody(chatId));
  await api.appendToSessionStream(chatId, "in", messageChunk(chatId, userMessage("u1", "hello")));
  let partial = [];
  const deadline = Date.now() + 20_000;
  while (partial.length < 4 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    partial = (await api.readSessionStreamRecords(chatId, "out")).records;
  }
  assert.ok(partial.length >= 4, "the turn got under way");
  assert.ok(!partial.some((r) => r.headers?.length), "and had not completed");

  api = await restart();
  const turn = await readTurn(api, chatId);
  assert.equal(turn.header("session-in-event-id"), "0");
  const out = (await api.readSessionStreamRecords(chatId, "out")).records;
  assert.deepEqual(out.slice(0, partial.length), partial, "the records written before the restart are kept");
  assert.deepEqual(out.map((r) => r.seqNum), out.map((_, i) => i), "and the seqs go on after them");
  const all = await transcript(chatId);
  assert.deepEqual(all.map((m) => m.role), ["user", "assistant"]);
  assert.equal(all[1].parts.find((p) => p.type === "text").text, "Hello! I am the scripted model. Ask me about the weather in a city, or for a calculation.");
});
