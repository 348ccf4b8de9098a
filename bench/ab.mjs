// `node bench/ab.mjs <other checkout>`: this checkout's worker against
// another's build (say, the commit before a change), side by side in one
// run: the same platform and model server, N head-start turns at once on
// each, alternating, R rounds. Both checkouts must be built.
//
//   node bench/ab.mjs ../other [--load 100] [--rounds 3] [--shape text|tool]
import { join, resolve } from "node:path";
import { startWrangler } from "../tests/e2e/wrangler.mjs";
import { startAnthropicServer } from "../tests/js/anthropic-server.mjs";
import { cpuMs, workerdOf, stats } from "./proc.mjs";
import { headStartTurn } from "./turns.mjs";

const argv = process.argv.slice(2);
const get = (name, d) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : d);
const other = resolve(argv[0] ?? "");
const load = Number(get("--load", 100));
const rounds = Number(get("--rounds", 3));
const shape = get("--shape", "text");

const model = await startAnthropicServer({ ttfbMs: 389, tokenMs: 15 });
const modelVars = { HEADSTART_PROVIDER: "anthropic", ANTHROPIC_BASE_URL: model.baseURL, ANTHROPIC_API_KEY: "bench", HEADSTART_MODEL: "claude-loopback" };
const platform = await startWrangler({ vars: { ...modelVars, HEADSTART_AGENT_BOOT_DELAY_MS: "488", HEADSTART_PLATFORM_CREATE_DELAY_MS: "100" } });
const vars = { ...modelVars, TRIGGER_API_URL: platform.url, TRIGGER_SECRET_KEY: "tr_dev_headstart_local" };
const workers = {
  this: await startWrangler({ vars }),
  other: await startWrangler({ vars, config: join(other, "wrangler.toml") }),
};
const runId = Date.now().toString(36);
const rows = { this: [], other: [] };
try {
  for (const [name, w] of Object.entries(workers)) {
    for (let i = 0; i < 3; i++) await headStartTurn(w.url, { chatId: `warm_${runId}_${name}_${i}`, shape });
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? ["other", "this"] : ["this", "other"];
    for (const name of order) {
      const w = workers[name];
      const pid = workerdOf(w.pid);
      const cpu0 = cpuMs(pid);
      const turns = await Promise.all(
        Array.from({ length: load }, (_, i) => headStartTurn(w.url, { chatId: `ab_${runId}_${name}_${r}_${i}`, shape, timeoutMs: 120_000 })),
      );
      const ok = turns.filter((t) => !t.error);
      rows[name].push({ cpu: (cpuMs(pid) - cpu0) / load, ttfc: stats(ok.map((t) => t.firstText)).p50, errors: turns.length - ok.length });
      console.error(`[ab] round ${r + 1} ${name}: ${JSON.stringify(rows[name].at(-1))}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`| build | rounds | errors | TTFC p50 (mean of rounds) | CPU ms/turn (mean) |\n|---|---|---|---|---|`);
  for (const name of ["other", "this"]) {
    const r = rows[name];
    console.log(`| ${name === "this" ? "this checkout" : other} | ${r.length} | ${r.reduce((a, x) => a + x.errors, 0)} | ${mean(r.map((x) => x.ttfc)).toFixed(0)} | ${mean(r.map((x) => x.cpu)).toFixed(1)} |`);
  }
  const ratio = (k) => mean(rows.this.map((x) => x[k])) / mean(rows.other.map((x) => x[k]));
  console.log(`\nthis / other: TTFC ${ratio("ttfc").toFixed(2)}, CPU ${ratio("cpu").toFixed(2)}`);
} finally {
  await workers.this.stop();
  await workers.other.stop();
  await platform.stop();
  await model.stop();
}
