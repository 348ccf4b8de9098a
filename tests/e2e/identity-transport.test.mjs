// Caller identity on a worker run as deployed (no HEADSTART_LOCAL) with
// HEADSTART_AUTH_JWT_SECRET: the real browser transport (`TriggerChatTransport`)
// sends the user's HS256 JWT to the head start through its `headers` option
// (as `X-Headstart-Authorization`: the transport sends `headers` to the
// platform's `.out` too, where an `Authorization` would replace the chat
// token) and to the token and start routes from its `accessToken`/
// `startSession` callbacks; turns 1 and 2 complete; another user is refused
// the chat (403) and a token for a chat that does not exist (404); a request
// with no token, a bad, expired or wrong-audience token gets 401 JSON, and
// no session is created.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import http from "node:http";
import { once } from "node:events";
import { readUIMessageStream } from "ai";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { startWrangler } from "./wrangler.mjs";

const SECRET = "identity-e2e-jwt-secret";
const PLATFORM_KEY = "tr_dev_identity_e2e";
let worker;
before(async () => {
  worker = await startWrangler({
    local: false,
    vars: {
      HEADSTART_AUTH_JWT_SECRET: SECRET,
      HEADSTART_AUTH_AUDIENCE: "headstart-e2e",
      TRIGGER_SECRET_KEY: PLATFORM_KEY,
      HEADSTART_SIGNING_KEY: "identity-e2e-signing-key",
      HEADSTART_SCRIPTED_TTFB_MS: "20",
      HEADSTART_SCRIPTED_TOKEN_MS: "2",
    },
  });
});
after(async () => {
  await worker?.stop();
});

/** An HS256 JWT of `claims` (signed with `secret`). */
function jwt(claims, secret = SECRET) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}
const now = () => Math.floor(Date.now() / 1000);
const userToken = (extra = {}) => jwt({ sub: "user_alice", aud: "headstart-e2e", iat: now(), exp: now() + 600, ...extra });

const user = (id, text) => ({ id, role: "user", parts: [{ type: "text", text }] });
const text = (m) => m.parts.filter((p) => p.type === "text").map((p) => p.text).join("|");

async function post(path, body, token) {
  const headers = { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return fetch(`${worker.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

async function sessionExists(chatId) {
  const res = await fetch(`${worker.url}/api/v1/sessions/${encodeURIComponent(chatId)}`, { headers: { authorization: `Bearer ${PLATFORM_KEY}` } });
  await res.body?.cancel();
  return res.status === 200;
}

test("the transport sends the user's JWT: turn 1 by head start and turn 2 direct complete; another user is refused the chat", async () => {
  const token = userToken();
  const calls = [];
  const transport = new TriggerChatTransport({
    task: "headstart-agent",
    baseURL: worker.url,
    headStart: `${worker.url}/api/chat`,
    headers: { "X-Headstart-Authorization": `Bearer ${token}` },
    accessToken: async ({ chatId }) => {
      calls.push("accessToken");
      return (await (await post("/api/chat/token", { chatId }, token)).json()).publicAccessToken;
    },
    startSession: async ({ chatId, clientData }) => {
      calls.push("startSession");
      return (await post("/api/chat/start", { chatId, clientData }, token)).json();
    },
  });
  const chatId = `identity_${process.pid}`;
  const stream = await transport.sendMessages({
    trigger: "submit-message",
    chatId,
    messageId: undefined,
    messages: [user("u1", "What's the weather in Paris?")],
    abortSignal: AbortSignal.timeout(20_000),
  });
  let message;
  for await (const m of readUIMessageStream({ stream, terminateOnError: true })) message = m;
  assert.match(text(message), /It is .* in Paris\./);
  assert.deepEqual(calls, [], "the head start needs no start or token call");
  assert.ok(await sessionExists(chatId));

  // The status page says who may call, naming no secret.
  const status = await (await fetch(`${worker.url}/status`)).text();
  assert.match(status, /Chat routes: callers need a bearer JWT \(HS256\)/);
  assert.ok(!status.includes(SECRET));

  // Turn 2 goes to the agent directly, with the chat token (the app's header rides along unharmed).
  const turn2 = await transport.sendMessages({
    trigger: "submit-message",
    chatId,
    messageId: undefined,
    messages: [user("u1", "What's the weather in Paris?"), message, user("u2", "Thanks!")],
    abortSignal: AbortSignal.timeout(20_000),
  });
  let reply;
  for await (const m of readUIMessageStream({ stream: turn2, terminateOnError: true })) reply = m;
  assert.ok(text(reply).length > 0, "turn 2 answered");

  // The token route takes the same JWT (the transport's accessToken callback).
  const res = await post("/api/chat/token", { chatId }, token);
  assert.equal(res.status, 200);
  assert.ok((await res.json()).publicAccessToken);

  // Another user is refused this chat on every route, and nothing of theirs reaches it.
  const bob = userToken({ sub: "user_bob" });
  const inBefore = await inRecords(chatId);
  for (const path of ["/api/chat", "/api/chat/detached", "/api/chat/start", "/api/chat/token"]) {
    const refused = await post(path, { chatId, headStartMessages: [user("b1", "let me in")] }, bob);
    assert.equal(refused.status, 403, path);
    const body = await refused.json();
    assert.equal(body.code, "not_owner", `${path}: ${JSON.stringify(body)}`);
    assert.equal(body.publicAccessToken, undefined);
  }
  assert.deepEqual(await inRecords(chatId), inBefore, "nothing of bob's reached the agent");
  // No token for a chat that does not exist (no claiming it ahead of its owner).
  const ghost = await post("/api/chat/token", { chatId: `${chatId}_ghost` }, bob);
  assert.equal(ghost.status, 404);
  assert.equal((await ghost.json()).code, "no_such_chat");
  // Alice's own token route still works.
  assert.equal((await post("/api/chat/token", { chatId }, token)).status, 200);
});

async function inRecords(chatId) {
  const res = await fetch(`${worker.url}/realtime/v1/sessions/${encodeURIComponent(chatId)}/in/records`, {
    headers: { authorization: `Bearer ${PLATFORM_KEY}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).records;
}

test("no token, a bad, expired or wrong-audience token: 401 JSON on every route, and nothing spent", async () => {
  const cases = [
    ["no token", undefined, "unauthenticated"],
    ["not a JWT", "not-a-jwt", "invalid_token"],
    ["another secret", jwt({ sub: "mallory", aud: "headstart-e2e", exp: now() + 600 }, "guessed-secret"), "invalid_token"],
    ["expired", userToken({ exp: now() - 3600 }), "token_expired"],
    ["wrong audience", userToken({ aud: "another-app" }), "invalid_token"],
    ["alg none", `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub: "x", exp: now() + 600 })).toString("base64url")}.`, "invalid_token"],
  ];
  for (const [name, token, code] of cases) {
    for (const path of ["/api/chat", "/api/chat/detached", "/api/chat/start", "/api/chat/token"]) {
      const chatId = `refused_${process.pid}_${path.split("/").pop()}_${name.replace(/\W/g, "_")}`;
      const res = await post(path, { chatId, headStartMessages: [user("u1", "hi")] }, token);
      assert.equal(res.status, 401, `${name} on ${path}`);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/, `${name} on ${path}`);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      const body = await res.json();
      assert.equal(body.code, code, `${name} on ${path}: ${JSON.stringify(body)}`);
      if (token) assert.ok(!JSON.stringify(body).includes(token), "the token is not echoed");
      assert.equal(await sessionExists(chatId), false, `${name} on ${path}: no session`);
    }
  }
});

test("RS256 and ES256 tokens checked by workerd's WebCrypto against a JWKS served over HTTP", async () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = (key, kid) => ({ ...key.publicKey.export({ format: "jwk" }), kid });
  let fetches = 0;
  const jwks = http.createServer((req, res) => {
    fetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk(rsa, "r1"), jwk(ec, "e1")] }));
  });
  jwks.listen(0, "127.0.0.1");
  await once(jwks, "listening");
  const issuer = "https://issuer.test";
  const other = await startWrangler({
    local: false,
    vars: {
      HEADSTART_AUTH_JWKS_URL: `http://127.0.0.1:${jwks.address().port}/jwks.json`,
      HEADSTART_AUTH_ISSUER: issuer,
      TRIGGER_SECRET_KEY: PLATFORM_KEY,
      HEADSTART_SIGNING_KEY: "identity-e2e-signing-key",
    },
  });
  try {
    const token = (alg, kid, key) => {
      const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const input = `${b64({ alg, kid })}.${b64({ sub: `u_${alg}`, iss: issuer, exp: now() + 600 })}`;
      const sig = alg === "RS256" ? sign("sha256", Buffer.from(input), key) : sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
      return `${input}.${sig.toString("base64url")}`;
    };
    let n = 0;
    // `start` creates a chat of the caller's own (a token is only for an existing chat).
    const call = async (t) => {
      const res = await fetch(`${other.url}/api/chat/start`, { method: "POST", headers: { authorization: `Bearer ${t}` }, body: JSON.stringify({ chatId: `jwks_${process.pid}_${++n}` }) });
      return [res.status, res.status === 200 ? "ok" : (await res.json()).code];
    };
    assert.deepEqual(await call(token("RS256", "r1", rsa.privateKey)), [200, "ok"]);
    assert.deepEqual(await call(token("ES256", "e1", ec.privateKey)), [200, "ok"]);
    const forged = token("ES256", "e1", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    assert.deepEqual(await call(forged), [401, "invalid_token"]);
    assert.equal(fetches, 1, "the isolate keeps the JWKS between requests");
  } finally {
    await other.stop();
    jwks.close();
  }
});
