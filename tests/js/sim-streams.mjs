// Reads the SSE bodies the simulation's browser got (a JSON array of
// strings in the file named by argv[2]) with the AI SDK's own parser and
// message assembler. Prints {read, failures: [{index, error}]}.
import { readFileSync } from "node:fs";
import { bytesStream, readUiStream } from "./ui-stream.mjs";

const bodies = JSON.parse(readFileSync(process.argv[2], "utf8"));
const failures = [];
for (const [index, body] of bodies.entries()) {
  try {
    // An `error` chunk ends the SDK's read where the browser's would end.
    const { message } = await readUiStream(bytesStream(body), { terminateOnError: false });
    if (!message) throw new Error("no message assembled");
  } catch (e) {
    failures.push({ index, error: String(e?.stack ?? e).slice(0, 2000) });
  }
}
process.stdout.write(JSON.stringify({ read: bodies.length, failures }));
