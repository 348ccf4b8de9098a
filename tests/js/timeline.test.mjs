// The chat page's timeline drawing (site/timeline.js), in node: lanes from
// a turn's metadata and the browser's marks, and SVG that escapes its text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { timelineModel, timelineSvg } from "../../site/timeline.js";

const headStart = {
  path: "head-start",
  edge: { requestAt: 1000, sessionCreated: 1050, modelFirstByte: 1300, firstChunkOut: 1300, stepEnd: 1800, handover: 1810 },
  agent: { runStarted: 1040, booted: 1640, inputRead: 1815, firstChunk: 1820, complete: 2600 },
};

test("a head start's lanes: the edge from the request, the agent with its boot, the browser from its send", () => {
  const model = timelineModel(headStart, { sentAt: 5000, responseAt: 5060, firstChunkAt: 5320, doneAt: 6650, path: "head-start" });
  assert.equal(model.path, "head-start");
  assert.deepEqual(model.lanes.edge.bars.map((b) => [b.label, b.from, b.to]), [["session create", 0, 50], ["step 1", 300, 800]]);
  assert.deepEqual(model.lanes.agent.bars.map((b) => [b.label, b.from, b.to]), [["boot", 40, 640], ["after handover", 815, 1600]]);
  assert.deepEqual(model.lanes.edge.marks.map((m) => m.label), ["model first byte", "session created", "step 1 end", "handover"]);
  assert.deepEqual(model.lanes.browser.marks.map((m) => [m.label, m.at]), [["first chunk", 320], ["response", 60], ["complete", 1650]]);
  assert.equal(model.total, 1650);
});

test("a direct turn has no edge lane; a turn without a browser's marks none of its own", () => {
  const direct = timelineModel({ path: "direct", agent: { inputRead: 100, firstChunk: 400, complete: 900, stopped: true } }, undefined);
  assert.equal(direct.path, "direct");
  assert.equal(direct.lanes.edge.bars.length + direct.lanes.edge.marks.length, 0);
  assert.deepEqual(direct.lanes.agent.marks.map((m) => m.label), ["agent first chunk", "stopped"]);
  const svg = timelineSvg(direct);
  assert.doesNotMatch(svg, />edge</);
  assert.doesNotMatch(svg, />browser</);
  assert.match(svg, />agent</);
  // Only what the page measured, for a stopped head start the agent never timed.
  const stopped = timelineModel(undefined, { sentAt: 10, firstChunkAt: 40, doneAt: 90, path: "head-start" });
  assert.equal(stopped.path, "head-start");
  assert.equal(stopped.total, 80);
});

test("the SVG escapes every text and ignores marks that are not numbers", () => {
  const model = timelineModel({ path: "<b>", edge: { requestAt: 0, sessionCreated: "<script>", stepEnd: 10 } }, undefined);
  assert.equal(model.lanes.edge.marks.some((m) => m.label === "session created"), false);
  model.lanes.edge.marks.push({ at: 5, label: `<img src=x onerror="alert(1)">` });
  const svg = timelineSvg(model);
  assert.doesNotMatch(svg, /<img|<script|<b>/);
  assert.match(svg, /&#60;img src=x onerror=&#34;alert\(1\)&#34;&#62;/);
  assert.match(svg, /^<svg [^>]*viewBox="0 0 640 \d+"/);
});
