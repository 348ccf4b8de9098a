// One first turn as the browser sees it, timed chunk by chunk at the client:
// through a head-start route (`headStartTurn`), or straight to the session
// with the real `TriggerChatTransport` and no head start (`directTurn`,
// optionally preloaded).
//
// Times are ms from the request (`performance.now()` of this process):
// `firstText` is the first text-delta (TTFC), `step1End` the first
// `finish` (step 1's, on a head start), `firstAgentText` the first
// text-delta after it (the agent's step 2, spliced in), `answerEnd` the
// last `finish` (the message is whole), `total` the end of the response.
// With edge steps the tool runs and step 2 is made in the handler:
// `step2Text` is the first text-delta after a tool result, whoever made it.
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";

export const PROMPTS = {
  text: "hello there",
  tool: "What's the weather in Paris?",
};

const user = (text) => [{ id: "u1", role: "user", parts: [{ type: "text", text }] }];

function timeline(t0) {
  const t = { firstText: null, step1End: null, firstAgentText: null, answerEnd: null, toolOutput: null, step2Text: null, total: null, starts: 0, finishes: 0, turnComplete: false, texts: 0 };
  t.see = (chunk) => {
    const now = performance.now() - t0;
    switch (chunk.type) {
      case "start":
        t.starts++;
        break;
      case "text-delta":
        t.texts++;
        t.firstText ??= now;
        if (t.step1End !== null) t.firstAgentText ??= now;
        if (t.toolOutput !== null) t.step2Text ??= now;
        break;
      case "tool-output-available":
        t.toolOutput ??= now;
        break;
      case "finish":
        t.step1End ??= now;
        t.answerEnd = now;
        t.finishes++;
        break;
      case "trigger:turn-complete":
        t.turnComplete = true;
        break;
    }
  };
  return t;
}

/** A head start: POST `${url}/api/chat`, the SSE body parsed as it arrives. */
export async function headStartTurn(url, { chatId, shape, timeoutMs = 60_000, headers = {}, edge = false }) {
  const t0 = performance.now();
  const t = timeline(t0);
  let error = null;
  try {
    const res = await fetch(`${url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ chatId, headStartMessages: user(PROMPTS[shape]), trigger: "submit-message" }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) throw new Error(`${res.status} ${(await res.text()).slice(0, 200)}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of frame.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          try {
            t.see(JSON.parse(line.slice(6)));
          } catch {}
        }
      }
    }
  } catch (e) {
    error = String(e?.message ?? e);
  }
  t.total = performance.now() - t0;
  return check(t, shape, error, edge ? "edge" : "splice");
}

/**
 * A first turn with no head start: the real browser transport creates the
 * session through `startSession` (the customer's server action; here the
 * platform worker's own /api/chat/start), appends the message to `.in` and
 * reads `.out`. With `preloadMs`, the chat is preloaded that long before the
 * message is sent (the agent boots while the user types); the clock starts
 * at the send.
 */
export async function directTurn(platformUrl, { chatId, shape, timeoutMs = 60_000, preloadMs = 0 }) {
  const post = async (path, body) => {
    const res = await fetch(`${platformUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const transport = new TriggerChatTransport({
    task: "headstart-agent",
    baseURL: platformUrl,
    accessToken: async ({ chatId: id }) => (await post("/api/chat/token", { chatId: id })).publicAccessToken,
    startSession: async ({ chatId: id, clientData }) => post("/api/chat/start", { chatId: id, clientData }),
  });
  if (preloadMs) {
    await transport.preload(chatId);
    await new Promise((r) => setTimeout(r, preloadMs));
  }
  const t0 = performance.now();
  const t = timeline(t0);
  let error = null;
  try {
    const stream = await transport.sendMessages({
      trigger: "submit-message",
      chatId,
      messageId: undefined,
      messages: user(PROMPTS[shape]),
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    for await (const chunk of stream) t.see(chunk);
    t.turnComplete = true; // the transport ends the stream at the agent's turn-complete
  } catch (e) {
    error = String(e?.message ?? e);
  }
  t.total = performance.now() - t0;
  // No splice on this path: the whole turn is the agent's.
  t.step1End = null;
  t.firstAgentText = null;
  return check(t, shape, error, "direct");
}

/** A turn counts only if it is whole: text, the turn's end, the agent's part of a tool turn. */
function check(t, shape, error, path) {
  const { see, ...figures } = t;
  if (!error) {
    if (figures.firstText === null) error = "no text";
    else if (!figures.turnComplete) error = "no turn-complete";
    else if (path === "splice" && shape === "tool" && (figures.starts !== 2 || figures.firstAgentText === null)) error = "no agent step after the tool call";
    else if (path === "edge" && shape === "tool" && (figures.starts !== 1 || figures.finishes !== 1 || figures.step2Text === null))
      error = "no step 2 at the edge after the tool call";
  }
  return { ...figures, error };
}
