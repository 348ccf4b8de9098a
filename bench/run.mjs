// `npm run bench`: headstart against the TypeScript head-start handler and
// against no head start, side by side in one run, on one self-hosted
// platform (the reference agent with a 488 ms boot), one loopback Anthropic
// model server (389 ms to first byte) and one machine. Everything is
// started here on 127.0.0.1 and stopped at the end.
//
//   node bench/run.mjs [--turns 20] [--ttfb 389] [--token 15] [--boot 488]
//                      [--create-delay 100] [--cold 20] [--load 10,100,1000|none]
//                      [--only id,id] [--quick] [--tag name]
//
// Writes bench/results/<date>.json, .md and .svg, and prints the table.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem, release } from "node:os";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWrangler } from "../tests/e2e/wrangler.mjs";
import { startAnthropicServer } from "../tests/js/anthropic-server.mjs";
import { buildAnchor } from "./anchor/build.mjs";
import { coldStarts } from "./coldstart.mjs";
import { cpuMs, memoryKiB, stats } from "./proc.mjs";
import { markdown, svg } from "./report.mjs";
import { SETUPS } from "./setups.mjs";
import { headStartTurn } from "./turns.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const SECRET = "tr_dev_headstart_local";
const SHAPES = ["text", "tool"];

function options(argv) {
  const get = (name, d) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : d);
  const quick = argv.includes("--quick");
  const load = get("--load", quick ? "10" : "10,100,1000");
  return {
    turns: Number(get("--turns", quick ? 3 : 20)),
    ttfbMs: Number(get("--ttfb", 389)),
    tokenMs: Number(get("--token", 15)),
    bootMs: Number(get("--boot", 488)),
    createDelayMs: Number(get("--create-delay", 100)),
    cold: Number(get("--cold", quick ? 3 : 20)),
    load: load === "none" ? [] : load.split(",").map(Number),
    only: get("--only", null)?.split(","),
    tag: get("--tag", null),
  };
}

const log = (line) => console.error(`[bench] ${line}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sizeOf(files) {
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const bytes = readFileSync(join(root, f));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

async function main() {
  const opts = options(process.argv.slice(2));
  const setups = SETUPS.filter((s) => !opts.only || opts.only.includes(s.id) || (s.shares && opts.only.includes(s.id)));
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version };
  log(`machine: ${machine.cpus} × ${machine.model}, ${machine.memGiB} GiB`);

  await buildAnchor();
  const bundles = {
    anchor: sizeOf(["build/anchor/worker.mjs"]),
    worker: sizeOf(["build/index_bg.wasm", "build/index.js"]),
    pkg: sizeOf(["pkg/dist/headstart_bg.wasm", "pkg/dist/headstart.js", "pkg/api.js", "pkg/index.js"]),
  };

  const model = await startAnthropicServer({ ttfbMs: opts.ttfbMs, tokenMs: opts.tokenMs });
  const modelVars = { HEADSTART_PROVIDER: "anthropic", ANTHROPIC_BASE_URL: model.baseURL, ANTHROPIC_API_KEY: "bench", HEADSTART_MODEL: "claude-loopback" };
  const platformVars = { ...modelVars, HEADSTART_AGENT_BOOT_DELAY_MS: String(opts.bootMs), HEADSTART_PLATFORM_CREATE_DELAY_MS: String(opts.createDelayMs) };
  const platform = await startWrangler({ vars: platformVars });
  const handlerEnv = { ...modelVars, TRIGGER_API_URL: platform.url, TRIGGER_SECRET_KEY: SECRET };
  log(`platform on ${platform.url}, model server on ${model.baseURL}`);

  const ctx = {};
  const stops = [];
  const runId = Date.now().toString(36);
  try {
    for (const s of setups) {
      if (s.start) {
        ctx[s.id] = { ...(await s.start(handlerEnv)), platformUrl: platform.url };
        stops.push(ctx[s.id].stop);
        log(`${s.id} on ${ctx[s.id].url} (pid ${ctx[s.id].pid})`);
      } else if (s.shares) {
        ctx[s.id] = ctx[s.shares] ?? { ...(await SETUPS.find((x) => x.id === s.shares).start(handlerEnv)), platformUrl: platform.url };
        if (!ctx[s.shares]) stops.push(ctx[s.id].stop);
      } else {
        ctx[s.id] = { platformUrl: platform.url };
      }
    }

    const turn = async (s, shape, tag) => {
      const c = ctx[s.id];
      const before = c.pid ? cpuMs(c.pid) : null;
      const seen = model.requests.length;
      const r = await s.turn(c, { chatId: `bench_${runId}_${s.id}_${shape}_${tag}`, shape });
      // Let the handler finish what it does after the response (logs, tee acks).
      await sleep(25);
      const requests = model.requests.slice(seen);
      const step2 = requests.find((q) => q.kind === "tool-result");
      const agentTtfb = step2?.firstByteAt != null ? step2.firstByteAt - step2.at : null;
      return {
        ...r,
        cpuMs: before === null ? null : cpuMs(c.pid) - before,
        agentModelTtfb: agentTtfb,
        spliceGap: r.firstAgentText !== null && r.step1End !== null && agentTtfb !== null ? r.firstAgentText - r.step1End - agentTtfb : null,
      };
    };

    log("warming up");
    for (const s of setups) for (const shape of SHAPES) await turn(s, shape, "warm");

    const results = Object.fromEntries(setups.map((s) => [s.id, { text: [], tool: [] }]));
    for (let i = 0; i < opts.turns; i++) {
      // Interleaved and rotated: every setup sees the same machine, in every position.
      const order = setups.map((_, k) => setups[(k + i) % setups.length]);
      for (const shape of SHAPES) for (const s of order) results[s.id][shape].push(await turn(s, shape, i));
      log(`round ${i + 1}/${opts.turns}`);
    }

    const rows = [];
    for (const s of setups) {
      const memory = ctx[s.id].pid ? memoryKiB(ctx[s.id].pid) : null;
      for (const shape of SHAPES) {
        const r = results[s.id][shape];
        const ok = r.filter((x) => !x.error);
        const cpu = r.map((x) => x.cpuMs).filter((x) => x !== null);
        rows.push({
          setup: s.id,
          label: s.label,
          runtime: s.runtime,
          shape,
          turns: r.length,
          errors: r.length - ok.length,
          errorSamples: [...new Set(r.filter((x) => x.error).map((x) => x.error))].slice(0, 3),
          ttfc: stats(ok.map((x) => x.firstText)),
          total: stats(ok.map((x) => x.total)),
          answerEnd: stats(ok.map((x) => x.answerEnd)),
          spliceGap: stats(ok.map((x) => x.spliceGap)),
          firstAgentText: stats(ok.map((x) => x.firstAgentText)),
          agentModelTtfb: stats(ok.map((x) => x.agentModelTtfb)),
          cpuMsPerTurn: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : null,
          peakRssMiB: memory ? memory.peak / 1024 : null,
          bundle: s.bundle ? bundles[s.bundle] : null,
        });
      }
    }

    for (const stop of stops.reverse()) await stop();
    stops.length = 0;
    await platform.stop();

    // Load: each handler on a fresh platform and a fresh process of its own,
    // so neither inherits the other's sessions, agents or heap.
    const loadRows = [];
    for (const target of ["worker", "anchor"].filter((id) => setups.some((s) => s.id === id))) {
      if (!opts.load.length) break;
      const fresh = await startWrangler({ vars: platformVars });
      const handler = await SETUPS.find((s) => s.id === target).start({ ...handlerEnv, TRIGGER_API_URL: fresh.url });
      try {
        await headStartTurn(handler.url, { chatId: `load_${runId}_${target}_warm`, shape: "text" });
        for (const n of opts.load) {
          const row = await loadRun(handler, target, n, runId);
          loadRows.push(row);
          log(`load ${target} ×${n}: ${row.errors} errors, TTFC p95 ${row.ttfc?.p95?.toFixed(0)} ms, RSS peak ${row.rssPeakMiB.toFixed(0)} MiB`);
          // Self-stopping: no bigger load once half the turns fail.
          if (row.errors > n / 2) break;
        }
      } finally {
        await handler.stop();
        await fresh.stop();
      }
    }
    await model.stop();

    const cold = opts.cold > 0 ? await coldStarts(opts.cold, log) : [];

    const date = new Date().toISOString();
    const result = {
      date,
      machine,
      settings: { ...opts, agentModel: "the same loopback server", tokens: "text answers 40 words; tool turns: a sentence, get_weather, a sentence" },
      bundles,
      rows,
      ratios: ratios(rows),
      load: loadRows,
      coldStart: cold,
    };
    const dir = join(root, "bench/results");
    mkdirSync(dir, { recursive: true });
    const base = join(dir, opts.tag ? `${date.slice(0, 10)}-${opts.tag}` : date.slice(0, 10));
    writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + "\n");
    const md = markdown(result);
    writeFileSync(`${base}.md`, md);
    writeFileSync(`${base}.svg`, svg(result));
    console.log(md);
    log(`written to ${base}.{json,md,svg}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await platform.stop().catch(() => {});
    await model.stop().catch(() => {});
  }
}

/** TTFC and turn time of every setup over the anchor's and the direct path's, per shape, from this run. */
function ratios(rows) {
  const find = (setup, shape) => rows.find((r) => r.setup === setup && r.shape === shape);
  return rows
    .filter((r) => r.ttfc)
    .map((r) => {
      const anchor = find("anchor", r.shape);
      const direct = find("direct", r.shape);
      const splice = find("worker", r.shape);
      const over = (a, b) => (a && b ? a / b : null);
      return {
        setup: r.setup,
        shape: r.shape,
        ttfcVsAnchor: over(r.ttfc?.p50, anchor?.ttfc?.p50),
        ttfcVsDirect: over(r.ttfc?.p50, direct?.ttfc?.p50),
        totalVsAnchor: over(r.total?.p50, anchor?.total?.p50),
        totalVsDirect: over(r.total?.p50, direct?.total?.p50),
        cpuVsAnchor: over(r.cpuMsPerTurn, anchor?.cpuMsPerTurn),
        totalVsSplice: over(r.total?.p50, splice?.total?.p50),
        answerEndVsAnchor: over(r.answerEnd?.p50, anchor?.answerEnd?.p50),
      };
    });
}

/** N head-start text turns at once on one handler; every turn bounded by its own timeout. */
async function loadRun(c, target, n, runId) {
  const rss = [];
  const before = memoryKiB(c.pid).rss;
  const sampler = setInterval(() => {
    try {
      rss.push(memoryKiB(c.pid).rss);
    } catch {}
  }, 50);
  const cpu0 = cpuMs(c.pid);
  const t0 = performance.now();
  const turns = await Promise.all(
    Array.from({ length: n }, (_, i) => headStartTurn(c.url, { chatId: `load_${runId}_${target}_${n}_${i}`, shape: "text", timeoutMs: 120_000 })),
  );
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  await sleep(200);
  const ok = turns.filter((t) => !t.error);
  const errors = turns.length - ok.length;
  const kinds = {};
  for (const t of turns.filter((x) => x.error)) kinds[t.error.slice(0, 80)] = (kinds[t.error.slice(0, 80)] ?? 0) + 1;
  return {
    target,
    n,
    errors,
    errorKinds: kinds,
    ttfc: stats(ok.map((t) => t.firstText)),
    total: stats(ok.map((t) => t.total)),
    wallMs,
    cpuMsPerTurn: (cpuMs(c.pid) - cpu0) / n,
    rssBeforeMiB: before / 1024,
    rssPeakMiB: Math.max(before, ...rss) / 1024,
  };
}

await main();
