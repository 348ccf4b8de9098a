// The JS package served by each runtime's own HTTP server — Deno.serve,
// Bun.serve, node:http through toNodeListener — against the self-hosted
// platform under `wrangler dev`: a tool turn with its splice, a client
// disconnect that reaches the agent as handover-skip, and bad input.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startWrangler } from "../e2e/wrangler.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const smoke = fileURLToPath(new URL("./runtimes/smoke.mjs", import.meta.url));
let worker;
before(async () => {
  worker = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
});
after(async () => {
  await worker?.stop();
});

const runtimes = {
  node: [process.execPath, [smoke]],
  deno: [`${root}node_modules/.bin/deno`, ["run", "--allow-net", "--allow-env", "--allow-read", smoke]],
  bun: [`${root}node_modules/.bin/bun`, [smoke]],
};

for (const [name, [bin, args]] of Object.entries(runtimes)) {
  test(`${name}: head start served by the runtime's own server`, async () => {
    const stdout = await new Promise((resolve, reject) =>
      execFile(bin, args, { env: { ...process.env, HEADSTART_PLATFORM_URL: worker.url, NO_COLOR: "1" }, timeout: 60_000 }, (err, out, errOut) =>
        err ? reject(new Error(`${name} failed: ${err.message}\n${errOut}`)) : resolve(out),
      ),
    );
    const result = JSON.parse(stdout.trim().split("\n").at(-1));
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(
      { runtime: result.runtime, status: result.status, starts: result.starts, turnComplete: result.turnComplete, handover: result.handover, disconnect: result.disconnect, badInput: result.badInput },
      { runtime: name, status: 200, starts: 2, turnComplete: true, handover: "handover", disconnect: "handover-skip", badInput: 400 },
    );
  });
}
