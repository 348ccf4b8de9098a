// The head-start scenarios every server of the handler must pass — the
// Cloudflare worker, and the JS package on each runtime — against the
// self-hosted platform. Bodies are read by the AI SDK's own parser; `.out`
// must hold exactly what the client got; chunks must arrive as they are
// made, not buffered to the end.
//
//   const s = scenarios({ url: handlerBaseUrl, platformUrl });
//   await s.text(); await s.tool(); await s.disconnect(); await s.badInput(); await s.badBodies();
import assert from "node:assert/strict";
import { readUiStream } from "./ui-stream.mjs";

export const SECRET = "tr_dev_headstart_local";
export const HELLO_TEXT = "Hello! I am the scripted model. Ask me about the weather in a city, or for a calculation.";

/** A JSON (or raw string) POST with a 30 s bound; `init` overrides. */
export function postJson(url, body, init = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
    ...init,
  });
}

const user = (text) => [{ id: "u1", role: "user", parts: [{ type: "text", text }] }];
const texts = (message) => message.parts.filter((p) => p.type === "text").map((p) => p.text).join("|");
let n = 0;

const TOOL_TEXT = /^Let me check the weather in Paris\.\|It is -?\d+ °C and [a-z ]+ in Paris\.$/;

/**
 * @param {{ url: string, platformUrl: string, name?: string, path?: string, secret?: string,
 *           expect?: { text?: string, toolText?: RegExp } }} target
 *   `url`: the handler's base URL; `name` goes into the chat ids; `expect`:
 *   the model's answers (default: the scripted model's).
 */
export function scenarios({ url, platformUrl, name = "s", path = "/api/chat", secret = SECRET, expect = {} }) {
  const expected = { text: HELLO_TEXT, toolText: TOOL_TEXT, ...expect };
  const chatId = (kind) => `${name}_${kind}_${process.pid}_${Date.now()}_${++n}`;
  const post = (body, init = {}) => postJson(`${url}${path}`, body, init);

  async function records(id, io) {
    const res = await fetch(`${platformUrl}/realtime/v1/sessions/${encodeURIComponent(id)}/${io}/records`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(res.status, 200);
    return (await res.json()).records;
  }
  const inKinds = async (id) => (await records(id, "in")).map((r) => JSON.parse(r.data).kind);

  /** POSTs a first turn; reads the body twice over: timed reads, and the AI SDK's parser. */
  async function headStart(id, text) {
    const t0 = performance.now();
    const res = await post({ headStartMessages: user(text), chatId: id, trigger: "submit-message" });
    // (The body only on failure: reading it first would wait for the whole turn.)
    if (res.status !== 200) assert.fail(`${res.status}: ${await res.text()}`);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    assert.equal(res.headers.get("x-vercel-ai-ui-message-stream"), "v1");
    assert.equal(res.headers.get("x-trigger-chat-access-token")?.split(".").length, 3, "a JWT access token header");
    const [timed, parsed] = res.body.tee();
    const reads = [];
    const decoder = new TextDecoder();
    const timing = (async () => {
      const reader = timed.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        reads.push({ at: performance.now() - t0, text: decoder.decode(value, { stream: true }) });
      }
    })();
    const [{ message, chunks }] = await Promise.all([readUiStream(parsed, { terminateOnError: false }), timing]);
    return { message, chunks, reads };
  }

  /** `.out` holds exactly the chunks the client got, and the turn ends with the two Trigger chunks. */
  async function assertTurnEnd(id, chunks) {
    assert.deepEqual(chunks.slice(-2).map((c) => c.type), ["trigger:turn-complete", "trigger:session-state"]);
    const out = await records(id, "out");
    const isControl = (r) => (r.headers ?? []).some(([h]) => h === "trigger-control");
    assert.deepEqual(out.filter((r) => !isControl(r)).map((r) => r.data), chunks.filter((c) => !c.type.startsWith("trigger:")));
    assert.equal(chunks.at(-1).lastEventId, String(out.at(-1).seqNum), "the session state points at the turn-complete");
  }

  /**
   * The first text arrives in an earlier read than the end of the turn, by at
   * least `minMs`: the body streams as it is made.
   */
  function assertIncremental(reads, minMs) {
    const first = reads.findIndex((r) => r.text.includes('"text-delta"'));
    const last = reads.length - 1;
    assert.ok(first >= 0, "some text arrived");
    assert.ok(first < last, `the first text and the end came in one read: ${reads.length} reads`);
    const spread = reads[last].at - reads[first].at;
    assert.ok(spread >= minMs, `the first text came only ${spread.toFixed(0)} ms before the end (want >= ${minMs})`);
  }

  return {
    /** Pure text: step 1 is the answer; the handover is final and the agent only persists it. */
    async text({ minSpreadMs = 40 } = {}) {
      const id = chatId("text");
      const { message, chunks, reads } = await headStart(id, "hello there");
      assert.equal(texts(message), expected.text);
      assert.equal(chunks.filter((c) => c.type === "start").length, 1);
      await assertTurnEnd(id, chunks);
      const handover = JSON.parse((await records(id, "in"))[0].data);
      assert.deepEqual([handover.kind, handover.isFinal, handover.messageId], ["handover", true, message.id]);
      assertIncremental(reads, minSpreadMs);
      return { id, message, chunks, reads };
    },

    /** One tool call: the agent runs it and its step 2 is spliced in under the same message id. */
    async tool() {
      const id = chatId("tool");
      const { message, chunks, reads } = await headStart(id, "What's the weather in Paris?");
      const starts = chunks.filter((c) => c.type === "start");
      assert.equal(starts.length, 2);
      assert.equal(starts[0].messageId, starts[1].messageId);
      assert.equal(message.id, starts[0].messageId);
      const tool = message.parts.find((p) => p.type === "tool-get_weather");
      assert.equal(tool?.state, "output-available");
      assert.equal(tool.output.city, "Paris");
      assert.match(texts(message), expected.toolText);
      await assertTurnEnd(id, chunks);
      const handover = JSON.parse((await records(id, "in"))[0].data);
      assert.equal(handover.isFinal, false);
      assert.equal(handover.partialAssistantMessage.at(-1).content[0].approvalId, "handover-approval-1");
      // Step 1 and the agent's part come apart: the splice streams too.
      const firstAgent = reads.findIndex((r) => r.text.includes('"tool-output-available"'));
      assert.ok(firstAgent > 0, "the agent's chunks came after step 1's, in a later read");
      return { id, message, chunks, reads };
    },

    /** A client gone mid-step 1: the turn is dropped and the agent gets handover-skip. */
    async disconnect({ withinMs = 20_000 } = {}) {
      const id = chatId("gone");
      const controller = new AbortController();
      const res = await post({ headStartMessages: user("Tell me a very long story about the sea [fault:stall]"), chatId: id }, { signal: controller.signal });
      assert.equal(res.status, 200);
      const reader = res.body.getReader();
      let seen = "";
      while (!seen.includes("text-delta")) {
        const { value, done } = await reader.read();
        assert.ok(!done, "the stream ended before any text");
        seen += new TextDecoder().decode(value);
      }
      controller.abort();
      const deadline = Date.now() + withinMs;
      let kinds = [];
      while (Date.now() < deadline && !kinds.length) {
        await new Promise((r) => setTimeout(r, 50));
        kinds = await inKinds(id);
      }
      assert.deepEqual(kinds, ["handover-skip"]);
      return { id };
    },

    /** Bad input: a 4xx JSON error naming what is wrong, and no session opened. */
    async badInput() {
      const bad = chatId("bad");
      const big = chatId("big");
      const cases = [
        ["{not json", 400, "invalid_json"],
        [{ headStartMessages: [] }, 400, "invalid_request"],
        [{ headStartMessages: [], chatId: "session_abc" }, 400, "invalid_chat_id"],
        [{ headStartMessages: [], chatId: "   " }, 400, "invalid_chat_id"],
        [{ headStartMessages: [{ id: "u", role: "user", parts: [{ type: "file", mediaType: "image/png", url: "nope" }] }], chatId: bad }, 400, "invalid_messages"],
        // Over the default 32 KiB cap: the platform's own limit on a session create.
        [{ headStartMessages: user("x".repeat(40_000)), chatId: big }, 413, "body_too_large"],
      ];
      for (const [body, status, code] of cases) {
        const res = await post(body);
        assert.equal(res.status, status, JSON.stringify(body).slice(0, 60));
        assert.match(res.headers.get("content-type") ?? "", /application\/json/);
        assert.equal((await res.json()).code, code);
      }
      for (const id of [bad, big]) assert.deepEqual(await records(id, "in"), [], "nothing reached the agent");
    },

    /** Every chat route caps a chunked body (413); an empty conversation is refused (400). */
    async badBodies({ paths = ["/api/chat", "/api/chat/detached", "/api/chat/start", "/api/chat/token"] } = {}) {
      for (const p of paths) {
        const res = await fetch(`${url}${p}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: chunkedBody(40_000),
          duplex: "half",
          signal: AbortSignal.timeout(30_000),
        });
        assert.equal(res.status, 413, p);
        assert.equal((await res.json()).code, "body_too_large", p);
      }
      const id = chatId("empty");
      const res = await post({ headStartMessages: [], chatId: id });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).code, "no_messages");
      assert.deepEqual(await records(id, "in"), [], "nothing reached the agent");
    },
  };
}

/** A body of `bytes` bytes sent in 8 KiB pieces with no Content-Length (chunked). */
function chunkedBody(bytes) {
  const piece = new TextEncoder().encode("x".repeat(8192));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(piece.subarray(0, Math.min(piece.length, bytes - sent)));
      sent += piece.length;
    },
  });
}
