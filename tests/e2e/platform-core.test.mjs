// The self-hosted platform under `wrangler dev`, driven by the real core
// `ApiClient` of @trigger.dev/core 4.8.3 (PROTOCOL.md §5, §6, §7.1, §10):
// every JSON answer passes the client's own zod schemas.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { ApiClient, ApiError, CreatedSessionResponseBody } from "@trigger.dev/core/v3";
import { startWrangler } from "./wrangler.mjs";
import { SECRET, SIGNING_KEY, FAST_MODEL, preloadBody, userMessage, messageChunk, withRaw, readTurn, textOf } from "./platform.mjs";

const T = { timeout: 60_000 };
let worker;
let api;

before(async () => {
  worker = await startWrangler({ vars: FAST_MODEL });
  api = new ApiClient(worker.url, SECRET);
});
after(async () => {
  await worker?.stop();
});

const sessionUrl = (chatId, rest) => `${worker.url}/realtime/v1/sessions/${encodeURIComponent(chatId)}/${rest}`;
const bearer = (token) => ({ Authorization: `Bearer ${token}` });
const signal = () => AbortSignal.timeout(20_000);

/** A session public access token shaped as the platform mints them, signed with `key`. */
function signToken(claims, key = SIGNING_KEY) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
}

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    assert.ok(e instanceof ApiError, `not an ApiError: ${e}`);
    return e.status;
  }
}

test("createSession: 201, then 200 isCached with the same session and live run; the body passes the client's schema", T, async () => {
  const { data, response } = await api.createSession(preloadBody("core-create")).withResponse();
  assert.equal(response.status, 201);
  assert.equal(data.isCached, false);
  assert.match(data.id, /^session_/);
  assert.equal(data.externalId, "core-create");
  assert.match(data.runId, /^run_/);
  assert.equal(data.currentRunId, data.runId);
  assert.ok(data.createdAt instanceof Date && data.closedAt === null);
  assert.equal(data.triggerConfig.basePayload.trigger, "preload");
  assert.equal(data.publicAccessToken.split(".").length, 3);

  const again = await api.createSession(preloadBody("core-create")).withResponse();
  assert.equal(again.response.status, 200);
  assert.equal(again.data.isCached, true);
  assert.equal(again.data.id, data.id);
  assert.equal(again.data.runId, data.runId, "a live run is reused");
  // The client parsed it; check the raw JSON too, field by field.
  const raw = await again.response.json();
  const parsed = CreatedSessionResponseBody.safeParse(raw);
  assert.ok(parsed.success, parsed.error?.message);
  for (const key of ["id", "externalId", "type", "taskIdentifier", "tags", "metadata", "closedAt", "closedReason", "expiresAt", "createdAt", "updatedAt", "runId", "publicAccessToken", "isCached"]) {
    assert.ok(key in raw, `response lacks ${key}`);
  }
});

test("initializeSessionStream: PUT answers {version:'v2'} and S2 credentials in headers", T, async () => {
  await api.createSession(preloadBody("core-init"));
  for (const io of ["out", "in"]) {
    const { version, headers } = await api.initializeSessionStream("core-init", io);
    assert.equal(version, "v2");
    assert.ok(headers["x-s2-access-token"], "X-S2-Access-Token is empty");
    assert.match(headers["x-s2-basin"], /^[a-z0-9][a-z0-9-]{6,46}[a-z0-9]$/);
    assert.match(headers["x-s2-stream-name"], new RegExp(`sessions/core-init/${io}$`));
    assert.equal(headers["x-s2-endpoint"], `${worker.url}/s2/v1`);
  }
});

test("appendToSessionStream on `in` answers {ok, seq}; a repeated X-Part-Id stores one record; readSessionStreamRecords lists them", T, async () => {
  const chatId = "core-append";
  await api.createSession(preloadBody(chatId));
  // A `stop` outside a turn: the agent reads it and does nothing.
  const first = await api.appendToSessionStream(chatId, "in", JSON.stringify({ kind: "stop" }), withRaw);
  assert.equal(first.ok, true);
  assert.deepEqual(first.raw, { ok: true, seq: 0 });

  const partId = randomUUID();
  const send = () =>
    fetch(sessionUrl(chatId, "in/append"), {
      method: "POST",
      headers: { ...bearer(SECRET), "Content-Type": "application/json", "X-Part-Id": partId },
      body: JSON.stringify({ kind: "stop" }),
      signal: signal(),
    }).then(async (r) => [r.status, await r.json()]);
  assert.deepEqual(await send(), [200, { ok: true, seq: 1 }]);
  assert.deepEqual(await send(), [200, { ok: true }], "the retry is acknowledged without a seq");

  const { records } = await api.readSessionStreamRecords(chatId, "in");
  assert.deepEqual(records.map((r) => r.seqNum), [0, 1]);
  assert.equal(records.filter((r) => r.id === partId).length, 1);
  assert.equal(records[1].data, JSON.stringify({ kind: "stop" }), "`.in` data is the raw body string");
  const after0 = await api.readSessionStreamRecords(chatId, "in", { afterEventId: "0" });
  assert.deepEqual(after0.records.map((r) => r.seqNum), [1]);
});

test("subscribeToSessionStream on `out`: the agent answers a message and completes the turn; Last-Event-ID resumes after it", T, async () => {
  const chatId = "core-turn";
  await api.createSession(preloadBody(chatId));
  const sent = await api.appendToSessionStream(chatId, "in", messageChunk(chatId, userMessage("u1", "hello")), withRaw);
  const turn = await readTurn(api, chatId);
  assert.equal(turn.chunks[0].type, "start");
  assert.equal(turn.chunks.at(-1).type, "finish");
  assert.match(textOf(turn.chunks), /^Hello! I am the scripted model\./);
  assert.equal(turn.header("session-in-event-id"), String(sent.raw.seq));
  assert.ok(turn.header("public-access-token"), "turn-complete carries a refreshed token");
  assert.deepEqual(turn.seqs, turn.seqs.map((_, i) => i), "dense seqs from 0");
  assert.equal(turn.control.seqNum, turn.seqs.at(-1));

  // Resume from the middle: only the later records come back.
  const from = 3;
  const resumed = await readTurn(api, chatId, { lastEventId: String(from) });
  assert.deepEqual(resumed.seqs, turn.seqs.slice(from + 1));
  assert.deepEqual(resumed.chunks, turn.chunks.slice(from + 1));

  const { records } = await api.readSessionStreamRecords(chatId, "out");
  assert.deepEqual(records.map((r) => r.seqNum), turn.seqs);
  assert.deepEqual(records.at(-1).headers[0], ["trigger-control", "turn-complete"]);
});

test("the S2 JSON append endpoint from initializeSessionStream appends records that the SSE then delivers", T, async () => {
  // Not ASCII, and with `/` and `%`: the stream name travels in a header.
  const chatId = "core s2/é%";
  await api.createSession(preloadBody(chatId));
  const { headers } = await api.initializeSessionStream(chatId, "out");
  const url = `${headers["x-s2-endpoint"]}/streams/${encodeURIComponent(headers["x-s2-stream-name"])}/records`;
  const bodies = [1, 2].map((n) => JSON.stringify({ data: { type: "data-probe", data: { n } }, id: `probe${n}x` }));
  const res = await fetch(url, {
    method: "POST",
    headers: { ...bearer(headers["x-s2-access-token"]), "Content-Type": "application/json", "s2-basin": headers["x-s2-basin"] },
    body: JSON.stringify({ records: bodies.map((body) => ({ body })) }),
    signal: signal(),
  });
  assert.equal(res.status, 200);
  const ack = await res.json();
  assert.equal(ack.start.seq_num, 0);
  assert.equal(ack.end.seq_num, 2);
  assert.equal(ack.tail.seq_num, 2);
  assert.equal(typeof ack.start.timestamp, "number");

  const seen = [];
  const stream = await api.subscribeToSessionStream(chatId, "out", { timeoutInSeconds: 1, signal: signal(), onPart: (p) => seen.push(p.id) });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.deepEqual(seen, ["0", "1"]);
  assert.deepEqual(chunks, [{ type: "data-probe", data: { n: 1 } }, { type: "data-probe", data: { n: 2 } }]);
});

test("closeSession: later appends get 409 session_closed (not retried), re-create 409, stream init 400; the agent writes no turn", T, async () => {
  const chatId = "core-closed";
  const created = await api.createSession(preloadBody(chatId));
  const patClient = new ApiClient(worker.url, created.publicAccessToken);
  assert.equal(await status(patClient.closeSession(chatId, { reason: "user-ended" })), 403, "a session token cannot close");

  const closed = await api.closeSession(chatId, { reason: "user-ended" });
  assert.ok(closed.closedAt instanceof Date);
  assert.equal(closed.closedReason, "user-ended");
  assert.equal((await api.closeSession(chatId, { reason: "again" })).closedReason, "user-ended", "closing twice keeps the first close");

  // Count the client's requests: a 409 without `x-should-retry: false` is retried 5 times.
  const realFetch = globalThis.fetch;
  let attempts = 0;
  globalThis.fetch = (input, init) => (attempts++, realFetch(input, init));
  const err = await patClient.appendToSessionStream(chatId, "in", messageChunk(chatId, userMessage("u1", "hello"))).catch((e) => e);
  globalThis.fetch = realFetch;
  assert.equal(attempts, 1, "x-should-retry: false stops the client's retries");
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.status, 409);
  assert.equal(err.code, "session_closed");
  assert.equal(err.body?.closedReason ?? err.error?.closedReason, "user-ended");
  const raw = await fetch(sessionUrl(chatId, "in/append"), {
    method: "POST", headers: { ...bearer(SECRET), "Content-Type": "application/json" }, body: "{}", signal: signal(),
  });
  assert.equal(raw.status, 409);
  assert.equal(raw.headers.get("x-should-retry"), "false");
  assert.deepEqual(await raw.json(), { ok: false, error: "Cannot append to a closed session", code: "session_closed", closedReason: "user-ended" });

  assert.equal(await status(api.createSession(preloadBody(chatId))), 409);
  assert.equal(await status(api.initializeSessionStream(chatId, "out")), 400);
  // Reads still work; the agent took the close and wrote no turn.
  const { records } = await api.readSessionStreamRecords(chatId, "in");
  assert.equal(records.length, 1, "only the close wake-up record");
  assert.equal(JSON.parse(records[0].data).payload.trigger, "close");
  assert.equal((await api.readSessionStreamRecords(chatId, "out")).records.length, 0);
});

test("auth: no token and bad tokens are 401; a token for chat A is 403 on chat B; a token never writes `out`", T, async () => {
  const a = await api.createSession(preloadBody("core-auth-a"));
  await api.createSession(preloadBody("core-auth-b"));
  const patA = new ApiClient(worker.url, a.publicAccessToken);
  const noRetry = { retry: { maxAttempts: 1 } };

  // No Authorization header at all.
  for (const [method, rest] of [["POST", "in/append"], ["GET", "out"], ["GET", "out/records"], ["PUT", "in"]]) {
    const res = await fetch(sessionUrl("core-auth-a", rest), { method, body: method === "POST" ? "{}" : undefined, signal: signal() });
    assert.equal(res.status, 401, `${method} ${rest} without a token`);
  }
  const created = await fetch(`${worker.url}/api/v1/sessions`, { method: "POST", body: JSON.stringify(preloadBody("core-auth-c")), signal: signal() });
  assert.equal(created.status, 401);

  // Garbage, forged and expired tokens.
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: "env_headstart_local", iss: "https://id.trigger.dev", aud: "https://api.trigger.dev", pub: true,
    scopes: ["read:sessions:core-auth-a", "write:sessions:core-auth-a"], iat: now - 7200, exp: now - 3600 };
  const forged = signToken({ ...claims, exp: now + 3600 }, "not-the-platform-key");
  for (const token of ["garbage", "tr_dev_wrong", "a.b.c", signToken(claims), forged]) {
    const client = new ApiClient(worker.url, token);
    assert.equal(await status(client.appendToSessionStream("core-auth-a", "in", "{}", noRetry)), 401, `append with ${token.slice(0, 12)}`);
    assert.equal(await status(client.readSessionStreamRecords("core-auth-a", "in")), 401);
  }
  // The same (fresh) token works on A.
  const valid = new ApiClient(worker.url, signToken({ ...claims, exp: now + 3600 }));
  assert.ok(Array.isArray((await valid.readSessionStreamRecords("core-auth-a", "out")).records));
  // ... on its `out`: `in` is the agent's to read (the secret key), as on the hosted platform since 4.6.
  assert.equal(await status(valid.readSessionStreamRecords("core-auth-a", "in")), 403);
  const inSse = await fetch(sessionUrl("core-auth-a", "in"), { headers: { ...bearer(a.publicAccessToken), Accept: "text/event-stream" }, signal: signal() });
  assert.equal(inSse.status, 403);

  // A's PAT on B: 403 on append, SSE read and records.
  assert.equal(await status(patA.appendToSessionStream("core-auth-b", "in", JSON.stringify({ kind: "stop" }), noRetry)), 403);
  assert.equal(await status(patA.readSessionStreamRecords("core-auth-b", "out")), 403);
  const sse = await fetch(sessionUrl("core-auth-b", "out"), { headers: { ...bearer(a.publicAccessToken), Accept: "text/event-stream" }, signal: signal() });
  assert.equal(sse.status, 403);
  await assert.rejects(
    (async () => {
      const stream = await patA.subscribeToSessionStream("core-auth-b", "out", { signal: signal() });
      for await (const _ of stream);
    })(),
    (e) => e.status === 403,
  );
  assert.equal((await api.readSessionStreamRecords("core-auth-b", "in")).records.length, 0, "nothing reached B");

  // A's PAT may write A's `in`, never its `out` (neither the append route, the S2 credentials nor the S2 endpoint).
  assert.equal((await patA.appendToSessionStream("core-auth-a", "in", JSON.stringify({ kind: "stop" }), noRetry)).ok, true);
  assert.equal(await status(patA.appendToSessionStream("core-auth-a", "out", JSON.stringify({ data: { type: "start" }, id: "x" }), noRetry)), 403);
  assert.equal(await status(patA.initializeSessionStream("core-auth-a", "out", noRetry)), 403);
  const s2 = await fetch(`${worker.url}/s2/v1/streams/${encodeURIComponent("sessions/core-auth-a/out")}/records`, {
    method: "POST",
    headers: { ...bearer(a.publicAccessToken), "Content-Type": "application/json" },
    body: JSON.stringify({ records: [{ body: "{}" }] }),
    signal: signal(),
  });
  assert.equal(s2.status, 403);
  assert.equal((await api.readSessionStreamRecords("core-auth-a", "out")).records.length, 0, "nothing reached A's out");
});
