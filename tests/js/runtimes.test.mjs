// The JS package served by every runtime the seed lists, each through its
// example in examples/ (tests/runtimes/servers.mjs): workerd (wrangler dev),
// Deno, Bun, Hono on Bun, Vercel's Edge runtime (a Next.js edge route) and
// Node 20 (Express), all against the self-hosted platform under another
// `wrangler dev`. Each passes the same scenarios (tests/js/scenarios.mjs):
// pure text, one tool call with its splice, a client disconnect, bad input,
// with chunks arriving as they are made.
import { describe, test, before, after } from "node:test";
import { startWrangler } from "../e2e/wrangler.mjs";
import { RUNTIMES, startRuntime } from "../runtimes/servers.mjs";
import { SECRET, scenarios } from "./scenarios.mjs";

let platform;
before(async () => {
  platform = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
});
after(async () => {
  await platform?.stop();
});

for (const name of RUNTIMES) {
  describe(`${name}: the package through its example`, () => {
    let server;
    let s;
    before(async () => {
      server = await startRuntime(name, {
        TRIGGER_API_URL: platform.url,
        TRIGGER_SECRET_KEY: SECRET,
        // 10 ms a token: a text turn spreads over ~150 ms, to see it stream.
        HEADSTART_SCRIPTED_TTFB_MS: "20",
        HEADSTART_SCRIPTED_TOKEN_MS: "10",
      });
      s = scenarios({ url: server.url, platformUrl: platform.url, name: name.replace(/\W/g, "") });
    });
    after(async () => {
      await server?.stop();
    });
    test("pure text, streamed as it is made", () => s.text({ minSpreadMs: 60 }));
    test("one tool call, the agent's part spliced in", () => s.tool());
    test("a client disconnect reaches the agent as handover-skip", () => s.disconnect());
    test("bad input gets a 4xx JSON error and opens nothing", () => s.badInput());
  });
}
