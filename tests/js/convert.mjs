// Runs the real AI SDK `convertToModelMessages` on every fixture in
// tests/fixtures/ui-messages and prints one JSON object to stdout:
//
//   { "<fixture name>": ModelMessage[] | { "error": "<message>" }, ... }
//
// `node tests/js/convert.mjs --validate` instead prints, for each fixture,
// `null` when the SDK's own `validateUIMessages` accepts its messages and the
// first issue's message otherwise.
//
// Fixture format (see tests/fixtures/ui-messages/README.md): either a bare
// UIMessage[] or { "options"?: {...}, "sdkInvalid"?: "why", "messages": [...] }.
// `options.convertDataPart` names one of the hooks below (functions cannot
// live in JSON); tests/convert_reference.rs implements the same hooks.
//
// Output goes through JSON.stringify, so URL objects become their href and
// undefined keys vanish, exactly as a ModelMessage would be sent on the wire.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertToModelMessages, safeValidateUIMessages } from "ai";

// The SDK warns about deprecated `rawInput` on stderr; keep the output clean.
globalThis.AI_SDK_LOG_WARNINGS = false;

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "ui-messages");

const hooks = {
  // `data-note` parts become text parts carrying `data.text`; others are dropped.
  dataNoteToText: (part) => (part.type === "data-note" ? { type: "text", text: part.data.text } : undefined),
};

function load(file) {
  const json = JSON.parse(readFileSync(join(dir, file), "utf8"));
  if (Array.isArray(json)) return { options: {}, messages: json };
  const options = { ...(json.options ?? {}) };
  if (options.convertDataPart != null) {
    const hook = hooks[options.convertDataPart];
    if (hook == null) throw new Error(`${file}: unknown convertDataPart hook ${options.convertDataPart}`);
    options.convertDataPart = hook;
  }
  return { options, messages: json.messages };
}

const validate = process.argv.includes("--validate");
const out = {};
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const name = file.slice(0, -".json".length);
  const { options, messages } = load(file);
  if (validate) {
    const result = await safeValidateUIMessages({ messages });
    const issue = result.error?.cause?.issues?.[0];
    out[name] = result.success ? null : issue ? `${issue.path.join(".")}: ${issue.message}` : String(result.error?.message);
    continue;
  }
  try {
    out[name] = await convertToModelMessages(messages, options);
  } catch (error) {
    out[name] = { error: String(error?.message ?? error) };
  }
}
process.stdout.write(JSON.stringify(out));
