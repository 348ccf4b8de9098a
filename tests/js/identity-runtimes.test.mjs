// RS256 and ES256 callers on every process runtime of the examples (Deno,
// Bun, Vercel's edge-runtime, Node 20; workerd is in
// tests/e2e/identity-transport.test.mjs): the package checks the tokens with
// the runtime's own WebCrypto against a JWKS served over HTTP, as deployed
// (no HEADSTART_LOCAL). The body `{}` has no chat id, so a caller let in gets
// 400 `invalid_chat_id` and no platform is needed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { generateKeyPairSync, sign } from "node:crypto";
import { startRuntime } from "../runtimes/servers.mjs";

const ISSUER = "https://issuer.test";
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
let jwks;
before(async () => {
  const jwk = (key, kid) => ({ ...key.publicKey.export({ format: "jwk" }), kid });
  jwks = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk(rsa, "r1"), jwk(ec, "e1")] }));
  });
  jwks.listen(0, "127.0.0.1");
  await once(jwks, "listening");
});
after(() => jwks?.close());

function token(alg, kid, key) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg, kid })}.${b64({ sub: `u_${alg}`, iss: ISSUER, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  const sig = alg === "RS256" ? sign("sha256", Buffer.from(input), key) : sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${sig.toString("base64url")}`;
}

for (const name of ["edge-runtime", "deno", "bun", "node20"]) {
  test(`${name}: RS256 and ES256 tokens checked with its WebCrypto`, async () => {
    const server = await startRuntime(name, {
      TRIGGER_API_URL: "http://127.0.0.1:9",
      TRIGGER_SECRET_KEY: "tr_dev_x",
      HEADSTART_LOCAL: "",
      HEADSTART_AUTH_JWKS_URL: `http://127.0.0.1:${jwks.address().port}/jwks.json`,
      HEADSTART_AUTH_ISSUER: ISSUER,
    });
    try {
      const call = async (t) => {
        const headers = { "content-type": "application/json", ...(t ? { authorization: `Bearer ${t}` } : {}) };
        const res = await fetch(`${server.url}/api/chat/token`, { method: "POST", headers, body: "{}" });
        return `${res.status} ${(await res.json()).code}`;
      };
      const forged = token("ES256", "e1", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
      assert.deepEqual(
        [await call(token("RS256", "r1", rsa.privateKey)), await call(token("ES256", "e1", ec.privateKey)), await call(forged), await call()],
        ["400 invalid_chat_id", "400 invalid_chat_id", "401 invalid_token", "401 unauthenticated"],
        server.log(),
      );
    } finally {
      await server.stop();
    }
  });
}
