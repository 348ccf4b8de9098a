// Gemini and Vertex AI through the wasm package on Node: the same chunks as
// @ai-sdk/google over the loopback replay server, and the Vertex service
// account's token signed with the runtime's WebCrypto — the assertion's
// RS256 signature checked here with node:crypto and the account's public
// key — exchanged once and cached per isolate, its faults failing the step
// cleanly before the model is called.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { generateKeyPairSync, verify } from "node:crypto";
import init, * as headstart from "../../pkg/dist/headstart.js";
import { defaultFixturesDir, loadFixture, startReplayServer } from "./provider-server.mjs";
import { runFixture } from "./provider-reference.mjs";
import { readUiStream } from "./ui-stream.mjs";

await init({ module_or_path: readFileSync(new URL("../../pkg/dist/headstart_bg.wasm", import.meta.url)) });

const prompt = JSON.parse(readFileSync(new URL("../fixtures/providers/prompt.json", import.meta.url), "utf8"));
const tools = JSON.parse(readFileSync(new URL("../fixtures/providers/tools.json", import.meta.url), "utf8"));
const TOKEN_URL = "https://oauth2.googleapis.com/token";
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
// As a JSON key file's `private_key` lands in an env var: `\n` escaped.
const PEM = privateKey.export({ type: "pkcs8", format: "pem" }).replace(/\n/g, "\\n");

let server;
const realFetch = globalThis.fetch;
/** What the fake token endpoint answers next, and what it was sent. */
const tokenEndpoint = { answers: [], seen: [] };

before(async () => {
  server = await startReplayServer({ eventDelayMs: 2 });
  // The token endpoint is Google's; the wasm calls the global fetch, so it
  // is answered here and everything else goes to the network (loopback).
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== TOKEN_URL) return realFetch(request);
    const form = new URLSearchParams(await request.text());
    tokenEndpoint.seen.push({ contentType: request.headers.get("content-type"), form });
    const answer = tokenEndpoint.answers.shift() ?? { status: 500, body: { error: "unexpected" } };
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { "content-type": "application/json" } });
  };
});
after(async () => {
  globalThis.fetch = realFetch;
  await server?.stop();
});

function vars(provider, fixture, extra = {}) {
  return {
    HEADSTART_PROVIDER: provider,
    HEADSTART_SYSTEM: prompt.system,
    HEADSTART_MAX_TOKENS: String(prompt.maxOutputTokens),
    HEADSTART_TOOLS: JSON.stringify(tools),
    HEADSTART_MAX_ATTEMPTS: "1",
    ...(provider === "google"
      ? { GOOGLE_GENERATIVE_AI_API_KEY: "test-key", GOOGLE_GENERATIVE_AI_BASE_URL: `${server.url}/google/${fixture}/v1beta` }
      : { GOOGLE_VERTEX_BASE_URL: `${server.url}/google/${fixture}/v1beta` }),
    ...extra,
  };
}

const account = (email) => ({ GOOGLE_CLIENT_EMAIL: email, GOOGLE_PRIVATE_KEY: PEM, GOOGLE_PRIVATE_KEY_ID: "kid-1" });

for (const fixture of ["text", "thinking", "parallel-tool-calls", "safety"]) {
  test(`google/${fixture}: same chunks as @ai-sdk/google over HTTP`, async () => {
    const v = vars("google", fixture);
    const { providerOptions } = loadFixture(defaultFixturesDir, "google", fixture);
    if (providerOptions != null) v.HEADSTART_PROVIDER_OPTIONS = JSON.stringify(providerOptions);
    const ours = await readUiStream(headstart.streamStep(v, prompt.messages, "msg_turn_1"));
    const sdk = await runFixture(server, "google", fixture);
    assert.deepEqual(ours.chunks, sdk.chunks);
    const reqs = server.requests.filter((r) => r.fixture === fixture && r.provider === "google");
    assert.equal(reqs.at(-2).rawBody, reqs.at(-1).rawBody, "byte-identical request bodies");
    assert.equal(reqs.at(-2).headers["x-goog-api-key"], "test-key");
  });
}

test("vertex: a WebCrypto-signed assertion buys a token, sent as the bearer and cached for the next step", async () => {
  tokenEndpoint.seen.length = 0;
  tokenEndpoint.answers.push({ status: 200, body: { access_token: "ya29.vertex-test", expires_in: 3599, token_type: "Bearer" } });
  const v = vars("vertex", "text", account("signer@test-project.iam.gserviceaccount.com"));
  const ours = await readUiStream(headstart.streamStep(v, prompt.messages, "m1"));
  assert.equal(ours.chunks.at(-1).finishReason, "stop");

  assert.equal(tokenEndpoint.seen.length, 1);
  const { contentType, form } = tokenEndpoint.seen[0];
  assert.equal(contentType, "application/x-www-form-urlencoded");
  assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  const [h, c, s] = form.get("assertion").split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const claims = JSON.parse(Buffer.from(c, "base64url"));
  assert.deepEqual(header, { alg: "RS256", typ: "JWT", kid: "kid-1" });
  assert.equal(claims.iss, "signer@test-project.iam.gserviceaccount.com");
  assert.equal(claims.aud, TOKEN_URL);
  assert.equal(claims.scope, "https://www.googleapis.com/auth/cloud-platform");
  assert.equal(claims.exp - claims.iat, 3600);
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 60, "iat is the wall clock");
  assert.ok(verify("sha256", Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, "base64url")), "a valid RS256 signature");
  assert.ok(!verify("sha256", Buffer.from(`${h}.${c}x`), publicKey, Buffer.from(s, "base64url")), "the check can fail");

  const model = server.requests.filter((r) => r.fixture === "text").at(-1);
  assert.equal(model.headers.authorization, "Bearer ya29.vertex-test");
  assert.equal(model.headers["x-goog-api-key"], undefined);
  assert.equal(model.query, "?alt=sse");

  // The next step of the same isolate reuses the token.
  await readUiStream(headstart.streamStep(v, prompt.messages, "m2"));
  assert.equal(tokenEndpoint.seen.length, 1, "cached");
  assert.equal(server.requests.filter((r) => r.fixture === "text").at(-1).headers.authorization, "Bearer ya29.vertex-test");
});

test("vertex: a refused token fails the step before the model is called, without the key in sight", async () => {
  tokenEndpoint.seen.length = 0;
  tokenEndpoint.answers.push({ status: 400, body: { error: "invalid_grant", error_description: "Invalid JWT Signature." } });
  const before = server.requests.length;
  const v = vars("vertex", "text", { ...account("refused@test-project.iam.gserviceaccount.com"), HEADSTART_MAX_ATTEMPTS: "3" });
  const ours = await readUiStream(headstart.streamStep(v, prompt.messages, "m3"), { terminateOnError: false });
  assert.deepEqual(
    ours.chunks.map((c) => c.type),
    ["start", "error"],
  );
  assert.equal(ours.chunks[1].errorText, "An error occurred.");
  assert.equal(tokenEndpoint.seen.length, 1, "a 4xx is not retried");
  assert.equal(server.requests.length, before, "the model was not called");
});

test("vertex: a malformed key fails at startup, naming the variable and not echoing the key", () => {
  const v = vars("vertex", "text", { ...account("x@p.iam.gserviceaccount.com"), GOOGLE_PRIVATE_KEY: "super-secret-not-a-pem" });
  assert.throws(
    () => headstart.streamStep(v, prompt.messages, "m"),
    (e) => /GOOGLE_PRIVATE_KEY: must be a PEM private key/.test(String(e.message ?? e)) && !String(e.message ?? e).includes("super-secret"),
  );
  assert.throws(() => headstart.streamStep({ HEADSTART_PROVIDER: "vertex" }, [], "m"), /GOOGLE_VERTEX_API_KEY, or GOOGLE_CLIENT_EMAIL/);
});
