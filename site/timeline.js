// A turn's timeline as SVG: the edge's marks (head start), the agent's
// (with its boot), and the browser's, in three lanes on one axis. The chat
// page draws one under each answer; the status page draws recent turns.
//
// Server marks are wall-clock ms as the worker and the agent saw them;
// browser marks are the browser's. Each side is drawn from its own origin
// (the request reaching the edge, or the send leaving the browser), so
// network transit is folded into the first step on either side.

const LANES = ["browser", "edge", "agent"];

/**
 * The lanes of one turn.
 * @param {object|undefined} server `metadata.headstart` of the answer: `{ path, edge?, agent? }`
 * @param {object|undefined} browser `{ sentAt, responseAt?, firstChunkAt?, doneAt?, sessionMs? }`
 */
export function timelineModel(server, browser) {
  const edge = server?.edge;
  const agent = server?.agent;
  const origin = edge?.requestAt ?? agent?.inputRead ?? agent?.runStarted;
  const s = (t) => (origin === undefined || typeof t !== "number" ? undefined : t - origin);
  const b = (t) => (browser?.sentAt === undefined || typeof t !== "number" ? undefined : t - browser.sentAt);
  const lanes = { browser: { bars: [], marks: [] }, edge: { bars: [], marks: [] }, agent: { bars: [], marks: [] } };
  const bar = (lane, from, to, label) => {
    if (from !== undefined && to !== undefined && to >= from) lanes[lane].bars.push({ from, to, label });
  };
  const mark = (lane, at, label) => {
    if (at !== undefined) lanes[lane].marks.push({ at, label });
  };
  if (edge) {
    bar("edge", 0, s(edge.sessionCreated), "session create");
    bar("edge", s(edge.modelFirstByte) ?? s(edge.sessionCreated), s(edge.stepEnd), "step 1");
    mark("edge", s(edge.modelFirstByte), "model first byte");
    mark("edge", s(edge.sessionCreated), "session created");
    mark("edge", s(edge.stepEnd), "step 1 end");
    mark("edge", s(edge.handover), "handover");
  }
  if (agent) {
    bar("agent", s(agent.runStarted), s(agent.booted), "boot");
    bar("agent", s(agent.inputRead), s(agent.complete), edge ? "after handover" : "turn");
    mark("agent", s(agent.firstChunk), "agent first chunk");
    mark("agent", s(agent.complete), agent.stopped ? "stopped" : "turn complete");
  }
  if (browser) {
    bar("browser", 0, b(browser.doneAt), "turn");
    mark("browser", b(browser.firstChunkAt), "first chunk");
    mark("browser", b(browser.responseAt), "response");
    mark("browser", b(browser.doneAt), "complete");
  }
  const all = LANES.flatMap((l) => [...lanes[l].bars.map((x) => x.to), ...lanes[l].marks.map((x) => x.at)]);
  const total = Math.max(1, ...all);
  return { path: server?.path ?? browser?.path, total, lanes };
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const COLORS = { "session create": "#9ab7e6", "step 1": "#3f7fd8", boot: "#f2b36b", "after handover": "#6bbf7a", turn: "#6bbf7a" };

/** The model as SVG markup (every text escaped). */
export function timelineSvg(model, { width = 640 } = {}) {
  const left = 64;
  const right = 16;
  const laneH = 44;
  const top = 8;
  // A direct turn has no edge lane; a resumed one no browser lane.
  const shown = LANES.filter((l) => model.lanes[l].bars.length || model.lanes[l].marks.length);
  const height = top + laneH * shown.length + 18;
  const x = (t) => left + (Math.max(0, t) / model.total) * (width - left - right);
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`turn timeline, ${Math.round(model.total)} ms`)}">`);
  shown.forEach((name, i) => {
    const y = top + i * laneH;
    const lane = model.lanes[name];
    out.push(`<text x="4" y="${y + 26}" class="lane">${esc(name)}</text>`);
    out.push(`<line x1="${left}" x2="${width - right}" y1="${y + 22}" y2="${y + 22}" stroke="#e3e3e3"/>`);
    for (const b of lane.bars) {
      const w = Math.max(1.5, x(b.to) - x(b.from));
      out.push(`<rect x="${x(b.from).toFixed(1)}" y="${y + 16}" width="${w.toFixed(1)}" height="12" rx="2" fill="${COLORS[b.label] ?? "#bbb"}" data-label="${esc(b.label)}"><title>${esc(`${b.label}: ${Math.round(b.from)}–${Math.round(b.to)} ms`)}</title></rect>`);
      // Named inside when it fits.
      if (w > 7 * b.label.length + 8) out.push(`<text x="${(x(b.from) + 4).toFixed(1)}" y="${y + 25.5}" class="bar">${esc(b.label)}</text>`);
    }
    lane.marks.forEach((m, j) => {
      const mx = x(m.at).toFixed(1);
      out.push(`<line x1="${mx}" x2="${mx}" y1="${y + 13}" y2="${y + 31}" stroke="#222" stroke-width="1.2" data-mark="${esc(m.label)}"><title>${esc(`${m.label}: ${Math.round(m.at)} ms`)}</title></line>`);
      // Labels alternate above and below so neighbours do not collide.
      const ly = j % 2 ? y + 41 : y + 10;
      // Near an edge a label grows inwards.
      const anchor = x(m.at) > width - right - 70 ? "end" : x(m.at) < left + 50 ? "start" : "middle";
      out.push(`<text x="${mx}" y="${ly}" class="mark" text-anchor="${anchor}">${esc(`${m.label} ${Math.round(m.at)}`)}</text>`);
    });
  });
  const axisY = top + laneH * shown.length + 4;
  const step = niceStep(model.total);
  for (let t = 0; t <= model.total + 1e-9; t += step) {
    out.push(`<text x="${x(t).toFixed(1)}" y="${axisY + 12}" class="tick" text-anchor="middle">${t} ms</text>`);
  }
  out.push("</svg>");
  return out.join("");
}

function niceStep(total) {
  const raw = total / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

export const TIMELINE_CSS = `
svg.timeline { width: 100%; height: auto; font: 10px system-ui, sans-serif; }
svg.timeline .lane { font-weight: 600; fill: #555; }
svg.timeline .mark { fill: #333; }
svg.timeline .tick { fill: #888; }
svg.timeline .bar { fill: #fff; font-size: 9px; }
`;
