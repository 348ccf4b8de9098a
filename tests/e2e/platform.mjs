// Shared pieces of the platform end-to-end tests: the dev secret key, the
// session a preload creates (PROTOCOL.md §8.2), `.in` message chunks (§6.1)
// and reading one agent turn off `.out` with the real core `ApiClient`.
import assert from "node:assert/strict";

/** The platform's dev secret key (src/cloudflare/config.rs). */
export const SECRET = "tr_dev_headstart_local";
/** The key that signs chat tokens in local mode (a secret of its own when deployed). */
export const SIGNING_KEY = "headstart-local-signing-key";

/** Wrangler vars that make the scripted model answer at once. */
export const FAST_MODEL = { HEADSTART_SCRIPTED_TTFB_MS: "5", HEADSTART_SCRIPTED_TOKEN_MS: "1" };

/** The body `chat.createStartSessionAction` posts for a preload (§8.2). */
export function preloadBody(chatId, clientData) {
  return {
    type: "chat.agent",
    externalId: chatId,
    taskIdentifier: "my-chat",
    triggerConfig: {
      basePayload: { messages: [], trigger: "preload", ...(clientData ? { metadata: clientData } : {}), chatId },
      // The SDK drops the auto tag when it is over 128 characters.
      tags: `chat:${chatId}`.length <= 128 ? [`chat:${chatId}`] : [],
    },
  };
}

export function userMessage(id, text) {
  return { id, role: "user", parts: [{ type: "text", text }] };
}

/** The raw `.in` body of a `submit-message` send (§6.1). */
export function messageChunk(chatId, message) {
  return JSON.stringify({ kind: "message", payload: { message, chatId, trigger: "submit-message" } });
}

/** Request options that keep the raw JSON body next to the schema-parsed data. */
export const withRaw = { prepareData: async (data, response) => ({ ...data, raw: await response.json() }) };

/**
 * Reads `.out` with `ApiClient.subscribeToSessionStream` until the next
 * turn-complete control record: the data chunks, the seq of every record
 * seen (data and control, via onPart) and the control event.
 */
export async function readTurn(api, chatId, { lastEventId, timeoutMs = 30_000 } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error("turn timed out")), timeoutMs);
  const seqs = [];
  let control;
  const stream = await api.subscribeToSessionStream(chatId, "out", {
    signal: ctl.signal,
    lastEventId,
    onPart: (part) => seqs.push(Number(part.id)),
    onControl: (event) => {
      if (event.subtype === "turn-complete" && !control) {
        control = event;
        ctl.abort();
      }
    },
  });
  const chunks = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } finally {
    clearTimeout(timer);
  }
  assert.ok(control, `no turn-complete on ${chatId}/out (got ${chunks.length} chunks)`);
  return { chunks, seqs, control, header: (name) => control.headers.find(([n]) => n === name)?.[1] };
}

/** The text the `text-delta` chunks spell. */
export function textOf(chunks) {
  return chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join("");
}
