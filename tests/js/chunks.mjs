// Checks the chunk and message fixtures of tests/chunk_roundtrip.rs with the
// real AI SDK and prints one JSON object to stdout:
//
//   {
//     "chunks": { "<file>.jsonl": [null | "<issue>", ...one per line] },
//     "generated": ["<JSON.stringify(chunk)>", ...],
//     "modelMessages": [null | "<issue>", ...],
//     "uiMessages": null | "<issue>"
//   }
//
// * chunks: each line of tests/fixtures/chunks/*.jsonl validated with the
//   SDK's own `uiMessageChunkSchema` (null = valid).
// * generated: the SDK's `toUIMessageChunk` applied to each TextStreamPart of
//   tests/fixtures/chunks/stream-parts.json ({part, options?}), serialized as
//   the SDK serializes chunks on the wire: the exact bytes and key order the
//   browser receives. An entry that the SDK's schema rejects, or that yields
//   no chunk, makes this script fail.
// * modelMessages: tests/fixtures/roundtrip/model-messages.json, each message
//   validated with `modelMessageSchema`.
// * uiMessages: tests/fixtures/roundtrip/ui-messages.json validated with
//   `safeValidateUIMessages`.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { asSchema, modelMessageSchema, safeValidateUIMessages, toUIMessageChunk, uiMessageChunkSchema } from "ai";

// `validateUIMessages` warns about deprecated `rawInput` on stderr.
globalThis.AI_SDK_LOG_WARNINGS = false;

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const chunkSchema = asSchema(uiMessageChunkSchema);

function firstIssue(error) {
  const issue = error?.cause?.issues?.[0] ?? error?.issues?.[0];
  if (issue == null) return String(error?.message ?? error);
  if (issue.code === "invalid_union" && Array.isArray(issue.errors)) {
    // Report the branch whose `type`/`role` matched, if any.
    const branch = issue.errors.find((b) => !b.some((i) => ["type", "role"].includes(i.path?.[0])));
    if (branch == null) return "no variant matches";
    const inner = branch[0];
    return `${[...(issue.path ?? []), ...(inner.path ?? [])].join(".")}: ${inner.message}`;
  }
  return `${(issue.path ?? []).join(".")}: ${issue.message}`;
}

async function validateChunk(chunk) {
  const result = await chunkSchema.validate(chunk);
  return result.success ? null : firstIssue(result.error);
}

const out = { chunks: {}, generated: [], modelMessages: [], uiMessages: null };

const chunkDir = join(fixtures, "chunks");
for (const file of readdirSync(chunkDir).filter((f) => f.endsWith(".jsonl")).sort()) {
  const lines = readFileSync(join(chunkDir, file), "utf8").split("\n").filter((l) => l.trim() !== "");
  out.chunks[file] = [];
  for (const line of lines) out.chunks[file].push(await validateChunk(JSON.parse(line)));
}

const parts = JSON.parse(readFileSync(join(chunkDir, "stream-parts.json"), "utf8"));
for (const [index, { part, options }] of parts.entries()) {
  const chunk = toUIMessageChunk(part, { sendSources: true, ...(options ?? {}) });
  if (chunk == null) throw new Error(`stream-parts.json[${index}] (${part.type}) yields no chunk`);
  const issue = await validateChunk(chunk);
  if (issue != null) throw new Error(`stream-parts.json[${index}]: the SDK rejects its own chunk: ${issue}`);
  out.generated.push(JSON.stringify(chunk));
}

// In memory a `{type:"url"}` file datum holds a URL object; JSON has its href.
const reviveUrls = (value) =>
  Array.isArray(value)
    ? value.map(reviveUrls)
    : value != null && typeof value === "object"
      ? Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, k === "url" && value.type === "url" ? new URL(v) : reviveUrls(v)]),
        )
      : value;

const modelMessages = reviveUrls(JSON.parse(readFileSync(join(fixtures, "roundtrip", "model-messages.json"), "utf8")));
for (const message of modelMessages) {
  const result = modelMessageSchema.safeParse(message);
  out.modelMessages.push(result.success ? null : firstIssue(result.error));
}

const uiMessages = JSON.parse(readFileSync(join(fixtures, "roundtrip", "ui-messages.json"), "utf8"));
const uiResult = await safeValidateUIMessages({ messages: uiMessages });
out.uiMessages = uiResult.success ? null : firstIssue(uiResult.error);

process.stdout.write(JSON.stringify(out));
