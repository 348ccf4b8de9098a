// The JS package's wasm, loaded in node: its exports agree with the AI SDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { convertToModelMessages } from "ai";
import init, * as headstart from "../../pkg/dist/headstart.js";
import { bytesStream, readUiStream } from "./ui-stream.mjs";

await init({ module_or_path: readFileSync(new URL("../../pkg/dist/headstart_bg.wasm", import.meta.url)) });

test("version matches Cargo.toml", () => {
  const cargo = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8");
  assert.equal(headstart.version(), cargo.match(/^version = "(.+)"$/m)[1]);
});

test("convertToModelMessages agrees with the AI SDK", async () => {
  const history = [
    { id: "u1", role: "user", parts: [{ type: "text", text: "Weather in Paris?" }] },
    {
      id: "a1",
      role: "assistant",
      parts: [
        { type: "step-start" },
        { type: "text", text: "Checking." },
        { type: "tool-get_weather", toolCallId: "t1", state: "output-available", input: { city: "Paris" }, output: { c: 21 } },
        { type: "step-start" },
        { type: "text", text: "21 °C." },
      ],
    },
    { id: "u2", role: "user", parts: [{ type: "text", text: "Thanks" }, { type: "file", mediaType: "image/png", url: "HTTPS://Example.com" }] },
  ];
  assert.deepEqual(headstart.convertToModelMessages(history), JSON.parse(JSON.stringify(await convertToModelMessages(history))));
});

test("convertToModelMessages rejects what the SDK rejects, with a message", () => {
  assert.throws(
    () => headstart.convertToModelMessages([{ id: "u", role: "user", parts: [{ type: "file", mediaType: "image/png", url: "nope" }] }]),
    /not a valid URL/,
  );
  assert.throws(() => headstart.convertToModelMessages([{ id: "u", role: "robot", parts: [] }]), /invalid UI messages/);
});

test("encodeUiMessageStream output is read back by the AI SDK", async () => {
  const chunks = [
    { type: "start", messageId: "m1" },
    { type: "start-step" },
    { type: "text-start", id: "0" },
    { type: "text-delta", id: "0", delta: "Hello" },
    { type: "text-delta", id: "0", delta: ", world" },
    { type: "text-end", id: "0" },
    { type: "finish-step" },
    { type: "finish", finishReason: "stop" },
  ];
  const sse = headstart.encodeUiMessageStream(chunks);
  assert.match(sse, /^data: \{"type":"start","messageId":"m1"\}\n\n/);
  const { chunks: parsed, message } = await readUiStream(bytesStream(sse));
  assert.deepEqual(parsed, chunks);
  assert.equal(message.id, "m1");
  assert.deepEqual(message.parts.filter((p) => p.type === "text").map((p) => p.text), ["Hello, world"]);
});
