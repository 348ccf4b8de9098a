// The agent's side of a handover as the AI SDK runs it: `streamText` with the
// head start's messages (step 1's response with its pending calls in an
// approved round, PROTOCOL.md §5.6), so it runs the approved tools first and
// then calls the model; step 2's provider may differ from step 1's. Prints
// the request the SDK sent to that provider, which tests/cross_provider.rs
// compares byte for byte with the one the reference agent sent for the same
// handover.
//
// usage: node tests/js/handover-reference.mjs <input.json>
//
//   input: { provider, fixture,          // the replay server's answer to step 2
//            version,                    // the base URL's API version (`/v1`, Gemini's `/v1beta`)
//            system, maxOutputTokens,
//            messages,                   // model messages: the user's, then the handover's
//            tools: [{name, description, inputSchema}],
//            toolOutputs: {toolCallId: output} }   // what our agent's tools returned
//   output: { request: {path, query?, body, rawBody?}, error? }

import { readFileSync } from "node:fs";
import { jsonSchema, stepCountIs, streamText, tool } from "ai";
import { buildModel } from "./provider-reference.mjs";
import { startReplayServer } from "./provider-server.mjs";

globalThis.AI_SDK_LOG_WARNINGS = false;

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const server = await startReplayServer({});
const out = {};
try {
  const baseURL = `${server.url}/${input.provider}/${input.fixture}${input.version ?? "/v1"}`;
  const tools = Object.fromEntries(
    input.tools.map((t) => [
      t.name,
      tool({
        description: t.description,
        inputSchema: jsonSchema(t.inputSchema),
        execute: async (_input, { toolCallId }) => {
          if (!(toolCallId in input.toolOutputs)) throw new Error(`no output for ${toolCallId}`);
          return input.toolOutputs[toolCallId];
        },
      }),
    ]),
  );
  const result = streamText({
    model: buildModel(input.provider, baseURL),
    system: input.system,
    messages: input.messages,
    tools,
    stopWhen: stepCountIs(1),
    maxRetries: 0,
    maxOutputTokens: input.maxOutputTokens,
    onError: () => {},
  });
  await result.consumeStream();
  await result.finishReason;
  const reqs = server.requests.filter((r) => r.provider === input.provider);
  if (reqs.length !== 1) throw new Error(`the SDK sent ${reqs.length} requests`);
  const [r] = reqs;
  out.request = { path: r.path, ...(r.query ? { query: r.query } : {}), body: r.body, ...(JSON.stringify(r.body) !== r.rawBody ? { rawBody: r.rawBody } : {}) };
} catch (e) {
  out.error = String(e?.stack ?? e);
} finally {
  await server.stop();
}
process.stdout.write(JSON.stringify(out), () => process.exit(0));
