// Runs smoke.mjs under node and under every other runtime given on the
// command line (paths to deno / bun executables), against one `wrangler dev`.
//   node tests/js/runtimes/run.mjs [/path/to/deno] [/path/to/bun]
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startWrangler } from "../../e2e/wrangler.mjs";

const smoke = fileURLToPath(new URL("./smoke.mjs", import.meta.url));
const worker = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
try {
  for (const bin of [process.execPath, ...process.argv.slice(2)]) {
    const args = bin.endsWith("deno") ? ["run", "--allow-net", "--allow-env", "--allow-read", smoke] : [smoke];
    try {
      process.stdout.write(execFileSync(bin, args, { env: { ...process.env, HEADSTART_PLATFORM_URL: worker.url }, timeout: 60_000, encoding: "utf8" }));
    } catch (e) {
      console.log(JSON.stringify({ bin, stdout: e.stdout, error: String(e.stderr ?? e) }));
    }
  }
} finally {
  await worker.stop();
}
