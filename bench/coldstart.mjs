// Cold start: loading and instantiating a handler in a fresh process, the
// median of N (default 20) fresh processes per runtime, side by side.
//
// - Node 22, Node 20, Deno, Bun: a fresh process imports the package and
//   makes a handler; the time is measured inside (the runtime's own boot
//   is not counted). The TypeScript anchor's bundle is imported the same
//   way in Node 22, for comparison.
// - edge-runtime: a fresh process makes the Edge VM, evaluates the bundled
//   Next route and instantiates the wasm.
// - workerd: a fresh `workerd serve` per sample (the binary wrangler
//   uses, with a config of just the worker), from spawn to the first
//   response; a hello-world worker is measured alongside, and the
//   difference is what the handler's module costs.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { freePort } from "../tests/e2e/wrangler.mjs";
import { COMMANDS } from "../tests/runtimes/servers.mjs";
import { bundleRoute } from "../tests/runtimes/edge-server.mjs";
import { stats } from "./proc.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const work = join(root, "build/bench");

function run(file, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: root, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1))) : reject(new Error(`${file} ${args.join(" ")}: ${err}`))));
  });
}

const IMPORT_HEADSTART = `const t0 = performance.now();
const { createHandler } = await import("headstart");
createHandler({ platformUrl: "http://127.0.0.1:9", secretKey: "tr_dev_x" });
console.log(JSON.stringify({ ms: performance.now() - t0 }));
(globalThis.Deno ?? process).exit(0);
`;
const IMPORT_ANCHOR = `const t0 = performance.now();
await import(${JSON.stringify(join(root, "build/anchor/worker.mjs"))});
console.log(JSON.stringify({ ms: performance.now() - t0 }));
process.exit(0);
`;
const EDGE = `import { readFileSync } from "node:fs";
const bundle = JSON.parse(readFileSync(${JSON.stringify(join(work, "edge-route.json"))}, "utf8"));
// The runtime's own code is loaded first, as a runtime's boot is not counted elsewhere.
const { startEdgeRuntime } = await import(${JSON.stringify(join(root, "tests/runtimes/edge-server.mjs"))});
const t0 = performance.now();
await startEdgeRuntime(bundle, { TRIGGER_API_URL: "http://127.0.0.1:9", TRIGGER_SECRET_KEY: "tr_dev_x" });
console.log(JSON.stringify({ ms: performance.now() - t0 }));
process.exit(0);
`;

async function prepare() {
  mkdirSync(work, { recursive: true });
  // Inside the repository, so `import("headstart")` resolves to pkg/.
  writeFileSync(join(work, "import-headstart.mjs"), IMPORT_HEADSTART);
  writeFileSync(join(work, "import-anchor.mjs"), IMPORT_ANCHOR);
  writeFileSync(join(work, "edge.mjs"), EDGE);
  writeFileSync(join(work, "hello.mjs"), 'export default { fetch() { return new Response("ok"); } };\n');
  writeFileSync(join(work, "edge-route.json"), JSON.stringify(await bundleRoute(join(root, "examples/nextjs/app/api/chat/[[...route]]/route.ts"))));
  // The package's worker for workerd, bundled as wrangler would (the wasm stays a module).
  await esbuild.build({
    entryPoints: [join(root, "examples/cloudflare/worker.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    external: ["*.wasm"],
    outfile: join(work, "pkg-worker/worker.mjs"),
    logLevel: "silent",
  });
}

/** Per-process runs: [label, runtime, command]. */
function processRuns() {
  const [node20] = COMMANDS.node20();
  const deno = join(root, "node_modules/.bin/deno");
  const bun = join(root, "node_modules/.bin/bun");
  const headstart = join(work, "import-headstart.mjs");
  return [
    ["headstart", "Node 22", [process.execPath, [headstart]]],
    ["headstart", "Node 20", [node20, [headstart]]],
    ["headstart", "Deno 2", [deno, ["run", "--allow-read", "--allow-env", headstart]]],
    ["headstart", "Bun 1", [bun, [headstart]]],
    ["headstart", "edge-runtime", [process.execPath, [join(work, "edge.mjs")]]],
    ["anchor", "Node 22", [process.execPath, [join(work, "import-anchor.mjs")]]],
  ];
}

/** The workers measured on workerd: their modules and bindings. */
function workers() {
  const env = [
    ["TRIGGER_API_URL", "http://127.0.0.1:9"],
    ["TRIGGER_SECRET_KEY", "tr_dev_x"],
  ];
  return {
    hello: { modules: [["worker.mjs", "esModule", join(work, "hello.mjs")]], flags: [], env: [] },
    headstart: {
      modules: [
        ["worker.mjs", "esModule", join(work, "pkg-worker/worker.mjs")],
        ["dist/headstart_bg.wasm", "wasm", join(root, "pkg/dist/headstart_bg.wasm")],
      ],
      flags: [],
      env,
    },
    anchor: { modules: [["worker.mjs", "esModule", join(root, "build/anchor/worker.mjs")]], flags: ["nodejs_compat"], env },
  };
}

function capnp({ modules, flags, env }, port) {
  // capnp reads absolute embed paths against its import roots: relative to the config.
  const mods = modules.map(([name, kind, file]) => `(name = ${JSON.stringify(name)}, ${kind} = embed ${JSON.stringify(relative(work, file))})`).join(", ");
  const bindings = env.map(([k, v]) => `(name = ${JSON.stringify(k)}, text = ${JSON.stringify(v)})`).join(", ");
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .w)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const w :Workerd.Worker = (
  modules = [${mods}],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = [${flags.map((f) => JSON.stringify(f)).join(", ")}],
  bindings = [${bindings}],
);
`;
}

/** Spawn to first response of a fresh workerd serving one worker. */
async function workerdSample(name, worker) {
  const port = await freePort();
  const config = join(work, `workerd-${name}.capnp`);
  writeFileSync(config, capnp(worker, port));
  const t0 = performance.now();
  const child = spawn(join(root, "node_modules/.bin/workerd"), ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`workerd exited: ${err}`);
      let res;
      try {
        res = await fetch(`http://127.0.0.1:${port}/healthz`);
      } catch {}
      if (res) {
        const body = await res.text();
        // A worker that failed to load answers at once, with an error.
        if (!res.ok) throw new Error(`${name} on workerd answered ${res.status}: ${body.slice(0, 200)} ${err}`);
        return performance.now() - t0;
      }
      if (performance.now() - t0 > 30_000) throw new Error(`workerd did not answer: ${err}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill("SIGKILL");
  }
}

/**
 * @param {number} samples fresh processes per runtime
 * @param {(line: string) => void} log
 */
export async function coldStarts(samples, log) {
  await prepare();
  const rows = [];
  const runs = processRuns();
  const results = runs.map(() => []);
  // Interleaved, so each runtime sees the same machine load.
  for (let i = 0; i < samples; i++) {
    for (const [k, [, , [file, args]]] of runs.entries()) results[k].push((await run(file, args)).ms);
  }
  for (const [k, [handler, runtime]] of runs.entries()) {
    rows.push({ handler, runtime, what: "module load + instantiate + handler, in-process", ms: stats(results[k]) });
    log(`cold start ${handler} on ${runtime}: p50 ${rows.at(-1).ms.p50.toFixed(1)} ms`);
  }
  const all = workers();
  const workerd = Object.fromEntries(Object.keys(all).map((k) => [k, []]));
  for (let i = 0; i < samples; i++) {
    for (const [name, worker] of Object.entries(all)) workerd[name].push(await workerdSample(name, worker));
  }
  const hello = stats(workerd.hello);
  for (const name of ["hello", "headstart", "anchor"]) {
    const s = stats(workerd[name]);
    rows.push({
      handler: name,
      runtime: "workerd",
      what: "fresh workerd, spawn to first response",
      ms: s,
      overHelloP50: name === "hello" ? 0 : s.p50 - hello.p50,
    });
    log(`cold start ${name} on workerd: p50 ${s.p50.toFixed(1)} ms`);
  }
  return rows;
}
