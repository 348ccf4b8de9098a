// End-to-end smoke test: the release worker under `wrangler dev` (workerd).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startWrangler } from "./wrangler.mjs";

const cargoVersion = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8").match(/^version = "(.+)"$/m)[1];
let worker;

before(async () => {
  worker = await startWrangler();
});
after(async () => {
  await worker?.stop();
});

test("GET /healthz answers with the crate version", async () => {
  const res = await fetch(`${worker.url}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /application\/json/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await res.json(), { ok: true, name: "headstart", version: cargoVersion });
});

test("GET /status serves the status page", async () => {
  const res = await fetch(`${worker.url}/status`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  assert.match(await res.text(), new RegExp(`<h1>headstart ${cargoVersion.replaceAll(".", "\\.")}</h1>`));
});

test("GET / serves the chat page and its bundled script", async () => {
  const page = await fetch(`${worker.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="module" src="\/chat.js">/);
  const script = await fetch(`${worker.url}/chat.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get("content-type"), /javascript/);
  assert.match(await script.text(), /\/api\/chat/);
});

test("unknown routes get a JSON 404", async () => {
  const res = await fetch(`${worker.url}/no/such/route`);
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: "no route for /no/such/route", code: "not_found" });
});

test("wrong methods get a JSON 405", async () => {
  const res = await fetch(`${worker.url}/healthz`, { method: "DELETE" });
  assert.equal(res.status, 405);
  assert.equal((await res.json()).code, "method_not_allowed");
});
