// What the e2e tests do as a chat app's client: post JSON to the chat
// routes, and send a message through a transport as `useChat` would.
import { readUIMessageStream } from "ai";
import { postJson } from "../js/scenarios.mjs";

/** POSTs JSON to `base + path` and returns the JSON answer; anything but a 200 fails the test. */
export async function postForJson(base, path, body) {
  const res = await postJson(`${base}${path}`, body);
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status}: ${await res.text()}`);
  return res.json();
}

/**
 * Sends the last message of `history` through transport `t` the way
 * `useChat` would and assembles the reply with the AI SDK's own reader:
 * `{ message, chunks }`.
 */
export async function sendLikeUseChat(t, chatId, history) {
  const stream = await t.sendMessages({ trigger: "submit-message", chatId, messageId: undefined, messages: history, abortSignal: AbortSignal.timeout(20_000) });
  const chunks = [];
  const tap = stream.pipeThrough(new TransformStream({ transform(c, ctl) { chunks.push(c); ctl.enqueue(c); } }));
  let message;
  for await (const m of readUIMessageStream({ stream: tap, terminateOnError: true })) message = m;
  return { message, chunks };
}
