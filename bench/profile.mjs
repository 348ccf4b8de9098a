// `npm run bench -- --profile`: where the worker's CPU goes under load. The
// same platform, model server and head-start worker as the benchmark; the
// worker's isolate is sampled through its inspector (the V8 profiler over
// the DevTools protocol) while N head-start turns run at once, and the
// self time is summed per function. Build with HEADSTART_KEEP_NAMES=1 to
// see the wasm functions by name.
//
//   node bench/profile.mjs [--load 100] [--shape text|tool] [--top 40]
import { writeFileSync } from "node:fs";
import WebSocket from "ws";
import { startWrangler } from "../tests/e2e/wrangler.mjs";
import { startAnthropicServer } from "../tests/js/anthropic-server.mjs";
import { cpuMs, workerdOf } from "./proc.mjs";
import { headStartTurn } from "./turns.mjs";

const argv = process.argv.slice(2);
const get = (name, d) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : d);
const load = Number(get("--load", 100));
const shape = get("--shape", "text");
const top = Number(get("--top", 40));
const save = get("--save", null);
const log = (line) => console.error(`[profile] ${line}`);

/** A DevTools protocol session on the worker's inspector. */
async function inspect(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl);
  if (!target) throw new Error(`no inspector target on ${port}: ${JSON.stringify(targets)}`);
  // wrangler's inspector proxy accepts DevTools from localhost origins only.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { origin: "http://localhost" });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("inspector connection failed"));
  });
  let next = 1;
  const pending = new Map();
  ws.onmessage = (e) => {
    const msg = JSON.parse(String(e.data));
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    msg.error ? p.reject(new Error(JSON.stringify(msg.error))) : p.resolve(msg.result);
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Self time per function, ms, from a V8 CPU profile. */
function selfTimes(profile) {
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const byName = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = (dt.get(node.id) ?? 0) / 1000;
    total += ms;
    const f = node.callFrame;
    const where = f.url ? `${f.url.split("/").pop()}` : "";
    const name = `${f.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  return { total, rows: [...byName].sort((a, b) => b[1] - a[1]) };
}

const model = await startAnthropicServer({ ttfbMs: 389, tokenMs: 15 });
const modelVars = { HEADSTART_PROVIDER: "anthropic", ANTHROPIC_BASE_URL: model.baseURL, ANTHROPIC_API_KEY: "bench", HEADSTART_MODEL: "claude-loopback" };
const platform = await startWrangler({ vars: { ...modelVars, HEADSTART_AGENT_BOOT_DELAY_MS: "488", HEADSTART_PLATFORM_CREATE_DELAY_MS: "100" } });
const worker = await startWrangler({ vars: { ...modelVars, TRIGGER_API_URL: platform.url, TRIGGER_SECRET_KEY: "tr_dev_headstart_local" } });
const pid = workerdOf(worker.pid);
const runId = Date.now().toString(36);
try {
  for (let i = 0; i < 3; i++) await headStartTurn(worker.url, { chatId: `warm_${runId}_${i}`, shape });
  const inspector = await inspect(worker.inspectorPort);
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 500 });
  await inspector.send("Profiler.start");
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const turns = await Promise.all(
    Array.from({ length: load }, (_, i) => headStartTurn(worker.url, { chatId: `p_${runId}_${i}`, shape, timeoutMs: 120_000 })),
  );
  const wall = performance.now() - t0;
  const cpu = cpuMs(pid) - cpu0;
  const { profile } = await inspector.send("Profiler.stop");
  inspector.close();
  if (save) writeFileSync(save, JSON.stringify(profile));
  const errors = turns.filter((t) => t.error).length;
  const ttfc = turns.filter((t) => !t.error).map((t) => t.firstText).sort((a, b) => a - b);
  const { total, rows } = selfTimes(profile);
  log(`${load} ${shape} turns: ${errors} errors, wall ${wall.toFixed(0)} ms, TTFC p50 ${ttfc[Math.floor(ttfc.length / 2)]?.toFixed(0)} ms`);
  log(`workerd CPU ${(cpu / load).toFixed(1)} ms/turn; sampled in the isolate ${(total / load).toFixed(1)} ms/turn`);
  console.log("| self ms/turn | share | function |\n|---|---|---|");
  for (const [name, ms] of rows.slice(0, top)) {
    console.log(`| ${(ms / load).toFixed(2)} | ${((100 * ms) / total).toFixed(1)}% | ${name.replaceAll("|", "\\|")} |`);
  }
} finally {
  await worker.stop();
  await platform.stop();
  await model.stop();
}
