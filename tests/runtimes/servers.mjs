// The headstart package served by each runtime the seed lists, through the
// examples in examples/ (so each example is run, not only typechecked):
//
// | name | runtime | example |
// |---|---|---|
// | workerd | Cloudflare's workerd under `wrangler dev` | examples/cloudflare |
// | deno | Deno (npm `deno`), `Deno.serve` | examples/deno |
// | bun | Bun (npm `bun`), `Bun.serve` | examples/bun |
// | hono | Hono on Bun | examples/hono |
// | edge-runtime | Vercel's Edge runtime (npm `edge-runtime`), a Next.js edge route | examples/nextjs |
// | node20 | Node 20 (npm `node@20`), Express through `toNodeListener` | examples/node-express |
//
// `startRuntime(name, env)` starts one on a free loopback port with the
// worker's variables in `env` and resolves when it answers HTTP.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startProcess, startWrangler } from "../e2e/wrangler.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name) => join(root, "node_modules/.bin", name);

/** Command lines of the process-based runtimes (workerd goes through wrangler). */
export const COMMANDS = {
  deno: () => [bin("deno"), ["run", "--allow-net", "--allow-env", "--allow-read", "examples/deno/main.ts"]],
  bun: () => [bin("bun"), ["examples/bun/server.ts"]],
  hono: () => [bin("bun"), ["examples/hono/server.ts"]],
  "edge-runtime": () => [process.execPath, ["tests/runtimes/edge-server.mjs", "examples/nextjs/app/api/chat/[[...route]]/route.ts"]],
  node20: () => [join(root, "tests/runtimes/node20/node_modules/.bin/node"), ["examples/node-express/server.mjs"]],
};

export const RUNTIMES = ["workerd", ...Object.keys(COMMANDS)];

/**
 * @param {string} name one of RUNTIMES
 * @param {Record<string, string>} env the worker's variables (TRIGGER_API_URL, …)
 * @returns {Promise<{ name: string, url: string, pid: number, log: () => string, stop: () => Promise<void> }>}
 */
export async function startRuntime(name, env) {
  if (name === "workerd") {
    const worker = await startWrangler({ config: "examples/cloudflare/wrangler.toml", vars: env });
    return { name, url: worker.url, pid: worker.pid, log: worker.log, stop: worker.stop };
  }
  const command = COMMANDS[name];
  if (!command) throw new Error(`unknown runtime ${name} (known: ${RUNTIMES.join(", ")})`);
  const [file, args] = command();
  const port = await freePort();
  const { child, output, stop } = startProcess(file, args, {
    // The rate limit off unless set: the tests make many calls from one address.
    env: { HEADSTART_LOCAL: "1", ...process.env, HEADSTART_RATE_LIMIT_PER_MINUTE: "0", ...env, HOST: "127.0.0.1", PORT: String(port), NO_COLOR: "1" },
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      // Any HTTP answer means the server is up (GET on a POST route is a 405).
      await fetch(`${url}/api/chat`, { signal: AbortSignal.timeout(2000) });
      return { name, url, pid: child.pid, log: output, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${name} did not start on ${url}:\n${output()}`);
}
