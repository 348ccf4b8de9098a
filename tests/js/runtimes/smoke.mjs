// A head start served by a runtime's own HTTP server (Deno.serve, Bun.serve,
// or node:http through toNodeListener), against the platform at
// $HEADSTART_PLATFORM_URL; prints one JSON line of results. Run by run.mjs.
import { createHandler, toNodeListener } from "../../../pkg/index.js";

const env = (name) => globalThis.Deno?.env.get(name) ?? globalThis.process?.env[name];
const platformUrl = env("HEADSTART_PLATFORM_URL");
const SECRET = "tr_dev_headstart_local";
const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";
const inner = createHandler({ platformUrl, secretKey: SECRET, scripted: { ttfbMs: 20, tokenMs: 2 } });

const handler = env("HEADSTART_NO_SIGNAL") ? async (req) => inner(new Request(req.url, { method: req.method, headers: req.headers, body: req.method === "POST" ? await req.arrayBuffer() : undefined })) : inner;

async function serve() {
  if (runtime === "deno") {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
    return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
  }
  if (runtime === "bun") {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
    return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
  }
  const http = await import("node:http");
  const server = http.createServer(toNodeListener(handler));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

const records = async (id) =>
  (await (await fetch(`${platformUrl}/realtime/v1/sessions/${id}/in/records`, { headers: { authorization: `Bearer ${SECRET}` } })).json()).records.map(
    (r) => JSON.parse(r.data).kind,
  );
const post = (url, body, signal) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
const user = (text) => [{ id: "u1", role: "user", parts: [{ type: "text", text }] }];

const server = await serve();
const result = { runtime };
try {
  const id = `rt_${runtime}_tool_${Date.now()}`;
  const res = await post(`${server.url}/api/chat`, { chatId: id, headStartMessages: user("What's the weather in Paris?") });
  const text = await res.text();
  result.status = res.status;
  result.starts = (text.match(/"type":"start"/g) ?? []).length;
  result.turnComplete = text.includes('"type":"trigger:turn-complete"');
  result.handover = (await records(id))[0];

  const gone = `rt_${runtime}_gone_${Date.now()}`;
  const ctl = new AbortController();
  const res2 = await post(`${server.url}/api/chat`, { chatId: gone, headStartMessages: user("A long story [fault:stall]") }, ctl.signal);
  const reader = res2.body.getReader();
  let seen = "";
  while (!seen.includes("text-delta")) seen += new TextDecoder().decode((await reader.read()).value);
  ctl.abort();
  let ins = [];
  for (let i = 0; i < 100 && !ins.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    ins = await records(gone);
  }
  result.disconnect = ins[0] ?? "nothing";
  result.badInput = (await post(`${server.url}/api/chat`, { chatId: "" })).status;
} catch (e) {
  result.error = String(e?.stack ?? e);
}
console.log(JSON.stringify(result));
// Pooled keep-alive connections would keep the process up.
await Promise.race([server.stop(), new Promise((r) => setTimeout(r, 500))]);
globalThis.Deno ? Deno.exit(0) : process.exit(0);
