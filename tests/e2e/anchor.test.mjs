// Conformance: the TypeScript head-start handler a user would run instead
// of ours — `chat.headStart` from @trigger.dev/sdk with @ai-sdk/anthropic,
// bundled for Workers (bench/anchor) and served by workerd with
// nodejs_compat — completes turns against our self-hosted platform through
// its own unmodified client, in the same scenarios as our handlers. Its
// model is the loopback Anthropic server; the platform's agent runs the
// handed-over tools on the scripted model.
import { test, before, after } from "node:test";
import { buildAnchor } from "../../bench/anchor/build.mjs";
import { startWrangler } from "./wrangler.mjs";
import { answer, startAnthropicServer } from "../js/anthropic-server.mjs";
import { SECRET, scenarios } from "../js/scenarios.mjs";

let model;
let platform;
let anchor;
let s;
before(async () => {
  await buildAnchor();
  model = await startAnthropicServer({ ttfbMs: 20, tokenMs: 10 });
  platform = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "20", HEADSTART_SCRIPTED_TOKEN_MS: "2" } });
  anchor = await startWrangler({
    config: "bench/anchor/wrangler.toml",
    vars: {
      TRIGGER_API_URL: platform.url,
      TRIGGER_SECRET_KEY: SECRET,
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "test",
      HEADSTART_MODEL: "claude-loopback",
    },
  });
  const hello = answer({ messages: [{ role: "user", content: "hello there" }] }).text;
  s = scenarios({ url: anchor.url, platformUrl: platform.url, name: "anchor", expect: { text: hello } });
});
after(async () => {
  await anchor?.stop();
  await platform?.stop();
  await model?.stop();
});

test("TypeScript chat.headStart on our platform: a pure text turn, persisted by the agent", () => s.text({ minSpreadMs: 100 }));
test("TypeScript chat.headStart on our platform: a tool call handed over and spliced", () => s.tool());
// Not here: a client that disconnects. On workerd the TypeScript handler's
// request is torn down with its client (its model call is cut) before it
// can send `handover-skip`, so the agent is left waiting for its own idle
// timeout; headstart sends the skip through `ctx.waitUntil`
// (tests/js/runtimes.test.mjs, tests/e2e/headstart.test.mjs).
