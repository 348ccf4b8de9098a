// Time to first chunk of a head-start turn: the session create and step 1
// together (headstart) against one after the other (what the TypeScript
// handler does), side by side in one run, on the same worker, platform and
// scripted model (400 ms to first token; the session create delayed 100 ms).
//
//   node bench/ttfc.mjs [--turns 20]
//
// Writes bench/results/ttfc-<date>.json and prints a table.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { startWrangler } from "../tests/e2e/wrangler.mjs";

const turns = Number(process.argv[process.argv.indexOf("--turns") + 1]) || 20;
const TTFB = 400;
const CREATE_DELAY = 100;

const worker = await startWrangler({
  vars: {
    HEADSTART_BENCH: "1",
    HEADSTART_SCRIPTED_TTFB_MS: String(TTFB),
    HEADSTART_SCRIPTED_TOKEN_MS: "5",
    HEADSTART_PLATFORM_CREATE_DELAY_MS: String(CREATE_DELAY),
  },
});

async function turn(i, sequential) {
  const t0 = performance.now();
  const res = await fetch(`${worker.url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(sequential ? { "x-headstart-sequential": "1" } : {}) },
    body: JSON.stringify({ chatId: `bench_${process.pid}_${sequential ? "seq" : "par"}_${i}`,
      headStartMessages: [{ id: "u", role: "user", parts: [{ type: "text", text: "hello" }] }] }),
  });
  const headers = performance.now() - t0;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let firstChunk;
  let firstText;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    firstChunk ??= performance.now() - t0;
    text += decoder.decode(value, { stream: true });
    if (firstText === undefined && text.includes('"text-delta"')) firstText = performance.now() - t0;
  }
  return { headers, firstChunk, firstText, total: performance.now() - t0 };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: q(0.5), p95: q(0.95), min: s[0], max: s.at(-1) };
};

const rows = { headstart: [], sequential: [] };
try {
  await turn(-1, false); // warm the worker and the objects' code
  for (let i = 0; i < turns; i++) {
    // Interleaved, so both modes see the same machine load.
    rows.headstart.push(await turn(i, false));
    rows.sequential.push(await turn(i, true));
  }
} finally {
  await worker.stop();
}

const summary = Object.fromEntries(
  Object.entries(rows).map(([mode, r]) => [mode, {
    headers: stats(r.map((x) => x.headers)),
    firstText: stats(r.map((x) => x.firstText)),
    total: stats(r.map((x) => x.total)),
  }]),
);
const ratio = summary.headstart.firstText.p50 / summary.sequential.firstText.p50;
const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30) },
  setup: { runtime: "workerd (wrangler dev)", model: "scripted", ttfbMs: TTFB, sessionCreateDelayMs: CREATE_DELAY, turns },
  summary,
  firstTextRatio: ratio,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(`./results/ttfc-${result.date.slice(0, 10)}.json`, import.meta.url);
writeFileSync(file, JSON.stringify(result, null, 2) + "\n");

const f = (x) => x.toFixed(0).padStart(5);
console.log(`\nhead-start TTFC, ${turns} turns each, scripted model TTFB ${TTFB} ms, session create +${CREATE_DELAY} ms`);
console.log("mode         headers p50  first text p50  p95    turn p50");
for (const [mode, s] of Object.entries(summary)) {
  console.log(`${mode.padEnd(12)} ${f(s.headers.p50)}        ${f(s.firstText.p50)}          ${f(s.firstText.p95)}  ${f(s.total.p50)}`);
}
console.log(`first text, headstart / sequential: ${ratio.toFixed(2)}  (written to ${file.pathname})`);
