// Chat ownership through the package on another runtime (Bun), run as
// deployed (no HEADSTART_LOCAL) with HS256 callers, against the self-hosted
// platform under `wrangler dev` reached as a remote platform (the package's
// routes look a chat's owner up before they create or re-post it): the
// creator's chat is refused to everyone else on every route, 403 JSON, and
// nothing of theirs reaches the agent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startWrangler } from "../e2e/wrangler.mjs";
import { startRuntime } from "../runtimes/servers.mjs";
import { SECRET } from "./scenarios.mjs";

const JWT_SECRET = "ownership-test-secret";
let platform;
let server;
before(async () => {
  platform = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
  server = await startRuntime("bun", {
    TRIGGER_API_URL: platform.url,
    TRIGGER_SECRET_KEY: SECRET,
    HEADSTART_LOCAL: "",
    HEADSTART_AUTH_JWT_SECRET: JWT_SECRET,
  });
});
after(async () => {
  await server?.stop();
  await platform?.stop();
});

function jwt(sub) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${createHmac("sha256", JWT_SECRET).update(input).digest("base64url")}`;
}

const post = (path, body, sub) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-headstart-authorization": `Bearer ${jwt(sub)}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });

async function inRecords(chatId) {
  const res = await fetch(`${platform.url}/realtime/v1/sessions/${encodeURIComponent(chatId)}/in/records`, { headers: { authorization: `Bearer ${SECRET}` } });
  assert.equal(res.status, 200);
  return (await res.json()).records;
}

test("bun: a chat is its creator's; another caller gets 403 not_owner on every route", { timeout: 120_000 }, async () => {
  const chatId = `owned_${process.pid}_${Date.now()}`;
  const started = await post("/api/chat/start", { chatId }, "alice");
  assert.equal(started.status, 200, server.log());
  assert.ok((await started.json()).publicAccessToken);
  const before = await inRecords(chatId);
  const messages = [{ id: "m1", role: "user", parts: [{ type: "text", text: "let me in" }] }];
  for (const path of ["/api/chat", "/api/chat/detached", "/api/chat/start", "/api/chat/token"]) {
    const res = await post(path, { chatId, headStartMessages: messages }, "mallory");
    assert.equal(res.status, 403, `${path}: ${server.log()}`);
    const body = await res.json();
    assert.equal(body.code, "not_owner", path);
    assert.equal(body.publicAccessToken, undefined);
  }
  assert.deepEqual(await inRecords(chatId), before, "nothing of mallory's reached the agent");
  const token = await post("/api/chat/token", { chatId }, "alice");
  assert.equal(token.status, 200);
  assert.ok((await token.json()).publicAccessToken);
});
