// Assembles the chunk streams of tests/fixtures/transcripts/*.json into UI
// messages with the AI SDK's own `readUIMessageStream`, and prints one JSON
// object to stdout:
//
//   { "<fixture>": { "message": <final UIMessage>, "errors": ["..."],
//                    "prefixes": [{ "writes": n, "message": <UIMessage> }] } }
//
// * message: the last snapshot `readUIMessageStream` yields for the whole
//   stream (null when it yields none).
// * errors: the messages of the errors passed to `onError`, in order: an
//   `error` chunk's text, or the SDK's refusal of a chunk (which ends the
//   stream).
// * prefixes[k]: the same for the first k+1 chunks alone, with the number of
//   snapshots yielded, so the Rust side can compare its state after every
//   chunk that made the SDK yield a new snapshot.
//
// A fixture is an array of chunks, or `{ "message": UIMessage, "chunks": [...] }`
// to start from an existing message (`readUIMessageStream({ message })`).

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readUIMessageStream } from "ai";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "transcripts");

async function assemble(chunks, message) {
  const errors = [];
  const stream = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(structuredClone(chunk));
      controller.close();
    },
  });
  let last = null;
  let writes = 0;
  for await (const snapshot of readUIMessageStream({
    message: message == null ? undefined : structuredClone(message),
    stream,
    onError: (error) => errors.push(String(error?.message ?? error)),
  })) {
    last = snapshot;
    writes++;
  }
  return { message: last, errors, writes };
}

const out = {};
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const fixture = JSON.parse(readFileSync(join(dir, file), "utf8"));
  const { chunks, message } = Array.isArray(fixture) ? { chunks: fixture } : fixture;
  const whole = await assemble(chunks, message);
  const prefixes = [];
  for (let k = 1; k <= chunks.length; k++) {
    const part = await assemble(chunks.slice(0, k), message);
    prefixes.push({ writes: part.writes, message: part.message });
  }
  out[file.slice(0, -".json".length)] = { message: whole.message, errors: whole.errors, prefixes };
}
process.stdout.write(JSON.stringify(out));
