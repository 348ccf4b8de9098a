// Issue 15, point 5: the handovers the edge writes after edge steps, read by
// the TypeScript agent side itself: `chat.MessageAccumulator.applyHandover`
// of @trigger.dev/sdk (the splice `chat.agent` runs on turn 0, PROTOCOL.md
// §7.4) and the AI SDK's `streamText` on what it accumulates. The handovers
// are the shapes src/routes/tests/edge.rs checks the edge writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chat } from "@trigger.dev/sdk/ai";
import { jsonSchema, streamText, stepCountIs, tool } from "ai";
import * as aiTest from "ai/test";

const MockModel = aiTest.MockLanguageModelV4 ?? aiTest.MockLanguageModelV3;
const user = { id: "u1", role: "user", parts: [{ type: "text", text: "What's the weather in Paris? And what is 6 * 7?" }] };
const step1 = {
  role: "assistant",
  content: [
    { type: "text", text: "Let me check the weather in Paris." },
    { type: "tool-call", toolCallId: "c1", toolName: "get_weather", input: { city: "Paris" } },
  ],
};
const result1 = {
  role: "tool",
  content: [{ type: "tool-result", toolCallId: "c1", toolName: "get_weather", output: { type: "json", value: { city: "Paris", temperatureC: 18 } } }],
};

/** A model that answers "ok" and keeps every prompt it was given. */
function model() {
  const prompts = [];
  const m = new MockModel({
    doStream: async ({ prompt }) => {
      prompts.push(prompt);
      const parts = [
        { type: "stream-start", warnings: [] },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "ok" },
        { type: "text-end", id: "t" },
        {
          type: "finish",
          finishReason: { unified: "stop", raw: "stop" },
          usage: { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } },
        },
      ];
      return { stream: new ReadableStream({ start: (c) => (parts.forEach((p) => c.enqueue(p)), c.close()) }) };
    },
  });
  return { m, prompts };
}

function tools(ran) {
  const t = (name, output) => tool({ inputSchema: jsonSchema({ type: "object" }), execute: async (input) => (ran.push([name, input]), output) });
  return { get_weather: t("get_weather", { temperatureC: 18 }), calculator: t("calculator", { result: 42 }) };
}

async function accumulate(handover) {
  const acc = new chat.MessageAccumulator();
  await acc.setMessages([user]);
  acc.applyHandover(handover);
  return acc;
}

test("a final handover of edge steps: the model history holds every step; the UI message only step 1's parts", async () => {
  const step2 = { role: "assistant", content: [{ type: "text", text: "It is 18 °C in Paris." }] };
  const handover = { kind: "handover", messageId: "M1", isFinal: true, edgeTurnComplete: 30, partialAssistantMessage: [step1, result1, step2] };
  const acc = await accumulate(handover);
  // The model side is whole and in order: the next turn's model sees it all.
  assert.deepEqual(acc.modelMessages.slice(1), [step1, result1, step2]);
  // Where the TypeScript agent differs from the reference agent: it builds
  // the UI message from the first assistant message only (its
  // synthesizeHandoverUIMessage), so the tool stays `input-available` and
  // step 2's text is not in the message it persists.
  assert.deepEqual(acc.uiMessages.at(-1), {
    id: "M1",
    role: "assistant",
    parts: [
      { type: "text", text: "Let me check the weather in Paris." },
      { type: "tool-get_weather", toolCallId: "c1", state: "input-available", input: { city: "Paris" } },
    ],
  });
  // The AI SDK takes the history as a prompt (turn 2).
  const { m, prompts } = model();
  const ran = [];
  const next = [...acc.modelMessages, { role: "user", content: [{ type: "text", text: "thanks" }] }];
  await streamText({ model: m, messages: next, tools: tools(ran) }).consumeStream();
  assert.equal(prompts.length, 1);
  assert.deepEqual(ran, [], "nothing is run again");
  const toolResults = prompts[0].filter((p) => p.role === "tool").flatMap((p) => p.content);
  assert.deepEqual(toolResults.map((r) => r.toolCallId), ["c1"]);
});

test("a mid-turn handover after edge steps: streamText runs only the pending call, then calls the model with every result", async () => {
  const step2 = {
    role: "assistant",
    content: [
      { type: "text", text: "Now the calculation." },
      { type: "tool-call", toolCallId: "c2", toolName: "calculator", input: { expression: "6 * 7" } },
      { type: "tool-approval-request", approvalId: "handover-approval-1", toolCallId: "c2" },
    ],
  };
  const approval = { role: "tool", content: [{ type: "tool-approval-response", approvalId: "handover-approval-1", approved: true }] };
  const handover = { kind: "handover", messageId: "M1", isFinal: false, partialAssistantMessage: [step1, result1, step2, approval] };
  const acc = await accumulate(handover);
  assert.deepEqual(acc.modelMessages.at(-1), approval, "the approval round stays last");
  const { m, prompts } = model();
  const ran = [];
  const chunks = [];
  const result = streamText({ model: m, messages: acc.modelMessages, tools: tools(ran), stopWhen: stepCountIs(5) });
  for await (const c of result.toUIMessageStream()) chunks.push(c);
  assert.deepEqual(ran, [["calculator", { expression: "6 * 7" }]], "the weather ran at the edge; only the calculator runs here");
  assert.equal(prompts.length, 1);
  const results = prompts[0].filter((p) => p.role === "tool").flatMap((p) => p.content).filter((p) => p.type === "tool-result");
  assert.deepEqual(results.map((r) => r.toolCallId), ["c1", "c2"]);
  assert.ok(chunks.some((c) => c.type === "tool-output-available" && c.toolCallId === "c2"));
  assert.ok(!chunks.some((c) => c.type === "tool-output-available" && c.toolCallId === "c1"));
});
