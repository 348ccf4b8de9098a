// Vertex AI with a service account on workerd (`wrangler dev`): the worker
// signs the RS256 assertion with workerd's own WebCrypto, exchanges it at the
// key file's token endpoint (`GOOGLE_TOKEN_URI`, here a loopback stand-in
// that checks the signature with node:crypto and the account's public key)
// and calls Gemini with the token as its bearer; the turn reaches the browser
// through TriggerChatTransport and the AI SDK's reader.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { generateKeyPairSync, verify } from "node:crypto";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { postForJson, sendLikeUseChat } from "./chat-client.mjs";
import { startWrangler } from "./wrangler.mjs";
import { startReplayServer } from "../js/provider-server.mjs";

const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
// As a JSON key file's `private_key` lands in a variable: `\n` escaped.
const PEM = privateKey.export({ type: "pkcs8", format: "pem" }).replace(/\n/g, "\\n");
const EMAIL = "headstart@test-project.iam.gserviceaccount.com";

let replay;
let worker;
let tokens;
/** What the token endpoint was sent: `{ contentType, form }`. */
const seen = [];

before(async () => {
  replay = await startReplayServer({ eventDelayMs: 2 });
  tokens = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ path: req.url, contentType: req.headers["content-type"], form: new URLSearchParams(body) });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: "ya29.workerd-test", expires_in: 3599, token_type: "Bearer" }));
  });
  await new Promise((resolve) => tokens.listen(0, "127.0.0.1", resolve));
  const tokenUri = `http://127.0.0.1:${tokens.address().port}/token`;
  worker = await startWrangler({
    vars: {
      HEADSTART_PROVIDER: "vertex",
      GOOGLE_VERTEX_BASE_URL: `${replay.url}/google/text/v1beta`,
      GOOGLE_CLIENT_EMAIL: EMAIL,
      GOOGLE_PRIVATE_KEY: PEM,
      GOOGLE_PRIVATE_KEY_ID: "kid-workerd",
      GOOGLE_TOKEN_URI: tokenUri,
      HEADSTART_MAX_ATTEMPTS: "1",
    },
  });
});
after(async () => {
  await worker?.stop();
  await new Promise((resolve) => tokens?.close(resolve));
  await replay?.stop();
});

test("vertex on workerd: a WebCrypto-signed assertion buys the token the model call carries", async () => {
  const post = (path, body) => postForJson(worker.url, path, body);
  const transport = new TriggerChatTransport({
    task: "headstart-agent",
    baseURL: worker.url,
    headStart: `${worker.url}/api/chat`,
    accessToken: async ({ chatId }) => (await post("/api/chat/token", { chatId })).publicAccessToken,
    startSession: async ({ chatId, clientData }) => post("/api/chat/start", { chatId, clientData }),
  });
  const turn = await sendLikeUseChat(transport, `vertex_${process.pid}`, [
    { id: "u1", role: "user", parts: [{ type: "text", text: "Weather in Paris?" }] },
  ]);
  const types = turn.chunks.map((c) => c.type);
  assert.ok(!types.includes("error"), types.join());
  assert.match(turn.message.parts.filter((p) => p.type === "text").map((p) => p.text).join(""), /Paris/);

  assert.ok(seen.length >= 1, "the token endpoint was called");
  const { path, contentType, form } = seen[0];
  assert.equal(path, "/token");
  assert.equal(contentType, "application/x-www-form-urlencoded");
  assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  const [h, c, s] = form.get("assertion").split(".");
  assert.deepEqual(JSON.parse(Buffer.from(h, "base64url")), { alg: "RS256", typ: "JWT", kid: "kid-workerd" });
  const claims = JSON.parse(Buffer.from(c, "base64url"));
  assert.equal(claims.iss, EMAIL);
  assert.equal(claims.aud, `http://127.0.0.1:${tokens.address().port}/token`, "the audience is the key file's token_uri");
  assert.equal(claims.exp - claims.iat, 3600);
  assert.ok(verify("sha256", Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, "base64url")), "a valid RS256 signature");
  assert.ok(!verify("sha256", Buffer.from(`${h}.${c}x`), publicKey, Buffer.from(s, "base64url")), "the check can fail");

  const call = replay.requests.filter((r) => r.provider === "google" && r.fixture === "text").at(-1);
  assert.equal(call.headers.authorization, "Bearer ya29.workerd-test");
  assert.equal(call.headers["x-goog-api-key"], undefined);
  assert.match(call.path, /\/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent$/);
  // No secret in the worker's log.
  assert.ok(!worker.log().includes("ya29.workerd-test") && !worker.log().includes(PEM.slice(40, 80)), "the log holds no secret");
});
