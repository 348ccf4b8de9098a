// The agent's tools under `wrangler dev` (workerd), where loopback is
// reachable: `fetch_url` on a loopback address, in any spelling, is refused
// before a request leaves, and the model gets the refusal as the tool's
// error. The rule itself is tested in full by `cargo test` (egress.rs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startWrangler } from "./wrangler.mjs";
import { readUiStream } from "../js/ui-stream.mjs";
import { postJson } from "../js/scenarios.mjs";
import { FAST_MODEL } from "./platform.mjs";

let worker;
let server;
const hits = [];

before(async () => {
  // A service on loopback that must never hear from the agent.
  server = createServer((req, res) => {
    hits.push(req.url);
    res.end("secret");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  // Only fetch_url is offered, so the scripted model does not read an
  // address's digits as arithmetic for the calculator.
  const tools = [{ name: "fetch_url", description: "Fetch a web page and return its text.", inputSchema: { type: "object", properties: { url: { type: "string" } }, required: ["url"] } }];
  worker = await startWrangler({ vars: { ...FAST_MODEL, HEADSTART_TOOLS: JSON.stringify(tools) } });
});
after(async () => {
  await worker?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

const user = (text) => ({ id: "u1", role: "user", parts: [{ type: "text", text }] });

test("fetch_url refuses loopback in any spelling, and nothing reaches it", async () => {
  const port = server.address().port;
  const cases = [
    [`http://127.0.0.1:${port}/admin`, "127.0.0.1 is a loopback address"],
    [`http://2130706433:${port}/admin`, "127.0.0.1 is a loopback address"],
    [`http://0x7f.1:${port}/admin`, "127.0.0.1 is a loopback address"],
    [`http://[::ffff:127.0.0.1]:${port}/admin`, "the IPv4-mapped form of 127.0.0.1, a loopback address"],
    [`http://localhost:${port}/admin`, "localhost is a loopback name"],
  ];
  for (const [i, [url, reason]] of cases.entries()) {
    const chatId = `egress_${process.pid}_${i}`;
    const res = await postJson(`${worker.url}/api/chat`, { headStartMessages: [user(`Read ${url} please`)], chatId, trigger: "submit-message" });
    assert.equal(res.status, 200, await res.clone().text());
    const { chunks } = await readUiStream(res.body, { terminateOnError: false });
    const call = chunks.find((c) => c.type === "tool-input-available");
    assert.deepEqual([call?.toolName, call?.input], ["fetch_url", { url }], JSON.stringify(chunks));
    const error = chunks.find((c) => c.type === "tool-output-error" && c.toolCallId === call.toolCallId);
    assert.ok(error?.errorText.startsWith(`refused to fetch "${url}": `), JSON.stringify(error));
    assert.ok(error.errorText.endsWith(reason), error.errorText);
    assert.ok(!chunks.some((c) => c.type === "tool-output-available"), "no page came back");
  }
  assert.deepEqual(hits, [], "the loopback service was never called");
});
