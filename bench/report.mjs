// The benchmark's report: a Markdown table and an SVG chart (TTFC and turn
// time per setup, p50 bars with p95 whiskers), from one run's JSON.

const ms = (x) => (x === null || x === undefined ? "—" : `${Math.round(x)}`);
const ratio = (x) => (x === null || x === undefined ? "—" : x.toFixed(2));
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const name = (r) => `${r.label}${r.runtime && r.runtime !== "—" ? ` · ${r.runtime}` : ""}`;

export function markdown(result) {
  const { machine, settings: s, rows, ratios, bundles, load, coldStart } = result;
  const out = [];
  out.push(`# headstart benchmark, ${result.date.slice(0, 10)}`);
  out.push("");
  out.push(
    `Machine: ${machine.cpus} × ${machine.model}, ${machine.memGiB} GiB, Linux ${machine.kernel}, ${machine.node}. ` +
      `Loopback Anthropic model server: ${s.ttfbMs} ms to first byte, ${s.tokenMs} ms a token. Self-hosted platform under \`wrangler dev\`: ` +
      `reference agent boot ${s.bootMs} ms, session create +${s.createDelayMs} ms. ${s.turns} turns per setup and shape, interleaved, after one warm-up turn each. ` +
      `Times in ms at the client, from the request: TTFC = first text byte, turn = end of the response.`,
  );
  out.push("");
  out.push(
    "Setups: *no head start*: the real `TriggerChatTransport` (@trigger.dev/sdk 4.8.3) in node creates the session through " +
      "`startSession` and sends the message to the agent; *preload*: the same, `transport.preload()` a second before the send; " +
      "*TypeScript chat.headStart*: @trigger.dev/sdk 4.8.3 with ai 7.0.173 and @ai-sdk/anthropic 4.0.105, bundled by esbuild, on workerd " +
      "with nodejs_compat (bench/anchor); *headstart worker*: this crate's Cloudflare worker as the handler; *sequential (ablation)*: the same " +
      "worker creating the session before step 1, as the TypeScript handler does; *headstart package*: pkg/ through the examples. " +
      "Every handler talks to the same platform (its own `wrangler dev`) and model server over loopback.",
  );
  out.push("");
  out.push("| setup | shape | TTFC p50 | p95 | turn p50 | p95 | splice gap p50 | CPU ms/turn | peak RSS | errors |");
  out.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    out.push(
      `| ${name(r)} | ${r.shape} | ${ms(r.ttfc?.p50)} | ${ms(r.ttfc?.p95)} | ${ms(r.total?.p50)} | ${ms(r.total?.p95)} | ${ms(r.spliceGap?.p50)} | ` +
        `${r.cpuMsPerTurn === null ? "—" : r.cpuMsPerTurn.toFixed(1)} | ${r.peakRssMiB === null ? "—" : `${r.peakRssMiB.toFixed(0)} MiB`} | ${r.errors}/${r.turns} |`,
    );
  }
  out.push("");
  out.push(
    "Splice gap: from step 1's `finish` to the agent's first text at the client, minus the agent's own model time to first byte " +
      "(measured at the model server): what the handover and the splice add. CPU: the handler's own process (for workerd, the worker's " +
      "workerd, not wrangler's dev proxy), per turn. Peak RSS: that process's high-water mark over the run (the whole runtime).",
  );
  out.push("");
  out.push("Ratios of p50s, this run (below 1: faster or cheaper than the other):");
  out.push("");
  out.push("| setup | shape | TTFC / TS anchor | TTFC / no head start | turn / TS anchor | turn / no head start | CPU / TS anchor |");
  out.push("|---|---|---|---|---|---|---|");
  for (const x of ratios) {
    const r = rows.find((y) => y.setup === x.setup && y.shape === x.shape);
    out.push(`| ${name(r)} | ${x.shape} | ${ratio(x.ttfcVsAnchor)} | ${ratio(x.ttfcVsDirect)} | ${ratio(x.totalVsAnchor)} | ${ratio(x.totalVsDirect)} | ${ratio(x.cpuVsAnchor)} |`);
  }
  out.push("");
  if (rows.some((r) => r.setup === "worker-edge")) {
    out.push(
      "Tool turns: edge steps against the splice path (the same worker without edge steps) and the TypeScript handler. " +
        "Turn = end of the response; answer = the message's last `finish` (the whole answer is on the screen).",
    );
    out.push("");
    out.push("| setup | turn p50 | p95 | answer p50 | turn / TS anchor | turn / splice path | answer / TS anchor |");
    out.push("|---|---|---|---|---|---|---|");
    for (const x of ratios.filter((x) => x.shape === "tool")) {
      const r = rows.find((y) => y.setup === x.setup && y.shape === "tool");
      out.push(
        `| ${name(r)} | ${ms(r.total?.p50)} | ${ms(r.total?.p95)} | ${ms(r.answerEnd?.p50)} | ${ratio(x.totalVsAnchor)} | ${ratio(x.totalVsSplice)} | ${ratio(x.answerEndVsAnchor)} |`,
      );
    }
    out.push("");
  }
  out.push("Handler bundles (what a deployment uploads; gzip -9):");
  out.push("");
  out.push("| handler | files | raw | gzip |");
  out.push("|---|---|---|---|");
  const labels = { anchor: "TypeScript chat.headStart (esbuild, minified)", worker: "headstart worker (wasm + glue)", pkg: "headstart package (wasm + JS)" };
  for (const [k, b] of Object.entries(bundles)) out.push(`| ${labels[k]} | ${b.files.map((f) => `\`${f}\``).join(", ")} | ${kb(b.raw)} | ${kb(b.gzip)} |`);
  if (coldStart.length) {
    out.push("");
    out.push(`Cold start, median of ${s.cold} fresh processes each:`);
    out.push("");
    out.push("| handler | runtime | measured | p50 | p95 | over hello world |");
    out.push("|---|---|---|---|---|---|");
    for (const c of coldStart) {
      out.push(`| ${c.handler} | ${c.runtime} | ${c.what} | ${c.ms.p50.toFixed(1)} | ${c.ms.p95.toFixed(1)} | ${c.overHelloP50 === undefined ? "" : c.overHelloP50.toFixed(1)} |`);
    }
  }
  if (load.length) {
    out.push("");
    out.push("Load: N head-start text turns at once on one workerd, each handler on a fresh platform and process (each turn bounded by a 120 s timeout):");
    out.push("");
    out.push("| handler | N | errors | TTFC p50 | p95 | turn p95 | wall | CPU ms/turn | RSS before → peak |");
    out.push("|---|---|---|---|---|---|---|---|---|");
    for (const l of load) {
      out.push(
        `| ${l.target === "anchor" ? "TypeScript chat.headStart" : "headstart worker"} | ${l.n} | ${l.errors} | ${ms(l.ttfc?.p50)} | ${ms(l.ttfc?.p95)} | ${ms(l.total?.p95)} | ` +
          `${ms(l.wallMs)} | ${l.cpuMsPerTurn.toFixed(1)} | ${l.rssBeforeMiB.toFixed(0)} → ${l.rssPeakMiB.toFixed(0)} MiB |`,
      );
    }
    const failed = load.filter((l) => l.errors);
    for (const l of failed) out.push(`\nErrors at ${l.target} ×${l.n}: ${Object.entries(l.errorKinds).map(([k, v]) => `${v} × ${k}`).join("; ")}`);
  }
  out.push("");
  return out.join("\n");
}

/** Two panels (text, tool): per setup, TTFC and turn time as p50 bars with p95 whiskers. */
export function svg(result) {
  const rows = result.rows.filter((r) => r.ttfc);
  const setups = [...new Set(rows.map((r) => r.setup))];
  const labelOf = (id) => name(rows.find((r) => r.setup === id));
  const max = Math.max(...rows.map((r) => r.total?.p95 ?? 0));
  const left = 370;
  const width = 1020;
  const plot = width - left - 100;
  const rowH = 30;
  const panelH = setups.length * rowH + 40;
  const height = 60 + panelH * 2 + 30;
  const x = (v) => left + (v / max) * plot;
  const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(
    `<text x="10" y="22" font-size="15" font-weight="600">First turn: time to first text (dark) and whole turn (light), p50 bars, p95 whiskers, ms</text>`,
  );
  parts.push(
    `<text x="10" y="42" fill="#555">${esc(`${result.date.slice(0, 10)} · ${result.machine.cpus} × ${result.machine.model} · model TTFB ${result.settings.ttfbMs} ms · agent boot ${result.settings.bootMs} ms`)}</text>`,
  );
  ["text", "tool"].forEach((shape, p) => {
    const top = 60 + p * panelH;
    parts.push(`<text x="10" y="${top + 16}" font-weight="600">${shape === "text" ? "Pure text turn" : "One tool call (handover and splice)"}</text>`);
    for (let t = 0; t <= max; t += max > 4000 ? 1000 : 500) {
      parts.push(`<line x1="${x(t)}" y1="${top + 24}" x2="${x(t)}" y2="${top + panelH - 10}" stroke="#eee"/>`);
      parts.push(`<text x="${x(t)}" y="${top + panelH}" text-anchor="middle" fill="#888">${t}</text>`);
    }
    setups.forEach((id, k) => {
      const r = rows.find((y) => y.setup === id && y.shape === shape);
      const y = top + 28 + k * rowH;
      parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(labelOf(id))}</text>`);
      if (!r?.ttfc) return;
      const color = id === "anchor" ? "#d9822b" : id === "direct" || id === "preload" ? "#8a8a8a" : "#2b6cb0";
      parts.push(`<rect x="${left}" y="${y + 2}" width="${x(r.total.p50) - left}" height="${rowH - 10}" fill="${color}" opacity="0.3"/>`);
      parts.push(`<rect x="${left}" y="${y + 6}" width="${x(r.ttfc.p50) - left}" height="${rowH - 18}" fill="${color}"/>`);
      for (const [v, lo] of [
        [r.ttfc, 6],
        [r.total, 2],
      ]) {
        const cy = y + lo + (lo === 6 ? (rowH - 18) / 2 : (rowH - 10) / 2);
        parts.push(`<line x1="${x(v.p50)}" y1="${cy}" x2="${x(v.p95)}" y2="${cy}" stroke="#333"/>`);
        parts.push(`<line x1="${x(v.p95)}" y1="${cy - 4}" x2="${x(v.p95)}" y2="${cy + 4}" stroke="#333"/>`);
      }
      parts.push(`<text x="${x(r.total.p95) + 6}" y="${y + 14}" fill="#333">${Math.round(r.ttfc.p50)} / ${Math.round(r.total.p50)}</text>`);
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
