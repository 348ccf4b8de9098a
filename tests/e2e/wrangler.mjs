// Starts `wrangler dev` (workerd) on a free loopback port for a test and
// stops it afterwards, with its state in a fresh temporary directory (or in
// `persistTo`, which stop() keeps, so a second start sees the same state).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A child process with its output kept and a `stop()` that sends SIGTERM,
 * then SIGKILL after 5 s, to the process (or, with `group`, its whole
 * process group: wrangler's workerd children too).
 */
export function startProcess(file, args, { env, group = false } = {}) {
  const child = spawn(file, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: group });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const signal = (name) => {
    try {
      process.kill(group ? -child.pid : child.pid, name);
    } catch {}
  };
  const stop = async () => {
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { child, output: () => output, stop };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {{ vars?: Record<string,string>, local?: boolean, readyTimeoutMs?: number, persistTo?: string, config?: string }} [opts]
 * @returns {Promise<{ url: string, pid: number, inspectorPort: number, log: () => string, stop: () => Promise<void> }>}
 */
export async function startWrangler(opts = {}) {
  const port = await freePort();
  const state = opts.persistTo ?? mkdtempSync(join(tmpdir(), "headstart-wrangler-"));
  const inspectorPort = await freePort();
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--inspector-port", String(inspectorPort)];
  if (opts.config) args.push("--config", opts.config);
  // Local unless a test asks for a deploy's behaviour (`local: false`): the
  // development keys are accepted only when the process says it is local.
  // The chat routes' rate limit is off unless a test sets it: the tests
  // make many calls from one address.
  const vars = { ...(opts.local === false ? {} : { HEADSTART_LOCAL: "1" }), HEADSTART_RATE_LIMIT_PER_MINUTE: "0", ...(opts.vars ?? {}) };
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const { child, output: log, stop: stopProcess } = startProcess(join(root, "node_modules/.bin/wrangler"), args, {
    env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1", HEADSTART_SKIP_BUILD: "1" },
    group: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess();
    if (!opts.persistTo) rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 240_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return { url, pid: child.pid, inspectorPort, log, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready on ${url}:\n${log()}`);
}
