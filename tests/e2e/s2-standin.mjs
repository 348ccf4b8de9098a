// A stand-in for Trigger.dev's hosted session platform whose streams are on
// the real S2 server (s2-lite): it answers the session API as PROTOCOL.md
// §5 describes and hands out s2-lite credentials (§5.3), so a route
// handler's `.out` tee, its handover cursor and its splice run against real
// S2, as they do in front of the hosted platform. Its agent is a fake
// `chat.agent` run (§7) that writes to `.out` with the official S2 client
// (`@s2-dev/streamstore`, as the Trigger.dev SDK's agent does):
//
// - `handover` with `isFinal: true` → the turn-complete control record;
// - `handover` with `isFinal: false` → `start` (the handover's message id),
//   one `tool-output-available` per pending call (get_weather answers 18 °C
//   and light rain), a text step, `finish`, then the turn-complete;
// - `handover-skip` → nothing.
//
// Every request the handler makes is recorded (`calls`), and so is every
// `.in` record the agent got (`inbox(key)`), so tests can assert the agent
// was never left waiting. `s2Proxy` (below) sits between a handler and
// s2-lite to count its appends and to inject faults.
import http from "node:http";
import { once } from "node:events";
import { Readable } from "node:stream";
import { createHmac, randomBytes } from "node:crypto";
import { AppendInput, AppendRecord, S2 } from "@s2-dev/streamstore";
import { BASIN } from "./s2lite.mjs";

export const STANDIN_SECRET = "tr_dev_s2_conformance";
/** The token the self-hosted Trigger.dev webapp hands out in front of s2-lite (PROTOCOL.md §5.3). */
export const S2_SKIP_TOKEN = "s2-skip-access-tokens";
export const WEATHER = { temperatureC: 18, condition: "light rain" };
export const AGENT_TEXT = (city) => `It is ${WEATHER.temperatureC} °C and ${WEATHER.condition} in ${city}.`;

const ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
export function nanoid(n = 7) {
  return [...randomBytes(n)].map((b) => ALPHABET[b & 63]).join("");
}

function b64url(s) {
  return Buffer.from(s).toString("base64url");
}
/** A session PAT shaped like the platform's (HS256 JWT); nothing here checks it. */
function pat(key) {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ sub: "env_standin", pub: true, scopes: [`read:sessions:${key}`, `write:sessions:${key}`] }));
  const sig = createHmac("sha256", "standin").update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/**
 * The S2 stream of a session channel: the self-hosted webapp's prefixed
 * form, or, for a chat id starting with `cloud`, the hosted one
 * (`/sessions/{key}/{io}`: a leading `/`, its tokens prefix it).
 */
export function streamName(key, io) {
  return key.startsWith("cloud") ? `/sessions/${key}/${io}` : `headstart-conformance/sessions/${key}/${io}`;
}

/** The official client on an S2 endpoint (`…/v1`), as the Trigger.dev SDK builds it. */
export function s2Client(endpoint, accessToken = S2_SKIP_TOKEN) {
  return new S2({ accessToken, endpoints: { account: endpoint, basin: endpoint } });
}

/** Every record of a stream, read with the official client (strings). */
export async function readAll(endpoint, name, { basin = BASIN } = {}) {
  const stream = s2Client(endpoint).basin(basin).stream(name);
  const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 1000 }, waitSecs: 0 } }, { as: "string" });
  return batch.records;
}

const json = (res, status, body, headers = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
};

async function readBody(req, max = 1 << 20) {
  let size = 0;
  const parts = [];
  for await (const c of req) {
    size += c.length;
    if (size > max) throw Object.assign(new Error("too large"), { status: 413 });
    parts.push(c);
  }
  return Buffer.concat(parts).toString("utf8");
}

/**
 * @param {{ s2: { endpoint: string }, credentials?: (key: string, io: string) => Record<string,string> | undefined,
 *           agentDelayMs?: number }} opts
 *   `credentials` may override the `X-S2-*` headers of one session (faults,
 *   or a proxy's endpoint).
 */
export async function startStandIn({ s2, credentials, agentDelayMs = 0 }) {
  const sessions = new Map();
  const calls = [];
  const client = () => s2Client(s2.endpoint).basin(BASIN);
  const stream = (key, io) => client().stream(streamName(key, io));

  const agent = {
    async onInput(session, input, inSeq) {
      session.inbox.push(input.kind);
      if (agentDelayMs) await new Promise((r) => setTimeout(r, agentDelayMs));
      if (input.kind !== "handover") return;
      const out = stream(session.key, "out");
      const records = [];
      const data = (chunk) => records.push(AppendRecord.string({ body: JSON.stringify({ data: chunk, id: nanoid() }) }));
      if (!input.isFinal) {
        data({ type: "start", messageId: input.messageId });
        const calls = pendingCalls(input.partialAssistantMessage);
        for (const c of calls) data({ type: "tool-output-available", toolCallId: c.toolCallId, output: { city: c.input?.city, ...WEATHER } });
        data({ type: "start-step" });
        const text = calls.map((c) => AGENT_TEXT(c.input?.city)).join(" ");
        data({ type: "text-start", id: "agent-0" });
        for (const t of text.match(/\S+\s*/g) ?? []) data({ type: "text-delta", id: "agent-0", delta: t });
        data({ type: "text-end", id: "agent-0" });
        data({ type: "finish-step" });
        data({ type: "finish", finishReason: "stop" });
        await out.append(AppendInput.create(records));
      }
      const seq = String(inSeq);
      const control = AppendRecord.string({
        body: "",
        headers: [
          ["trigger-control", "turn-complete"],
          ["public-access-token", pat(session.key)],
          ["session-in-event-id", seq],
          ["session-in-consumed-id", seq],
        ],
      });
      await out.append(AppendInput.create([control]));
      session.answered.push(input.kind);
    },
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const call = { method: req.method, path: url.pathname, headers: req.headers };
    calls.push(call);
    try {
      if (req.headers.authorization !== `Bearer ${STANDIN_SECRET}`) return json(res, 401, { error: "Invalid API key" });
      if (req.method === "POST" && url.pathname === "/api/v1/sessions") {
        const body = JSON.parse(await readBody(req, 32 * 1024));
        const key = body.externalId;
        const now = new Date().toISOString();
        const isCached = sessions.has(key);
        const session = sessions.get(key) ?? { key, id: `session_${nanoid(20)}`, runId: `run_${nanoid(20)}`, inbox: [], answered: [], parts: new Set(), created: now };
        sessions.set(key, session);
        session.payload = body.triggerConfig?.basePayload;
        return json(res, isCached ? 200 : 201, {
          id: session.id,
          externalId: key,
          type: body.type,
          taskIdentifier: body.taskIdentifier,
          triggerConfig: body.triggerConfig,
          currentRunId: session.runId,
          tags: body.tags ?? [],
          metadata: null,
          closedAt: null,
          closedReason: null,
          expiresAt: null,
          createdAt: session.created,
          updatedAt: now,
          runId: session.runId,
          publicAccessToken: pat(key),
          isCached,
        });
      }
      const m = url.pathname.match(/^\/realtime\/v1\/sessions\/([^/]+)\/(in|out)(\/append)?$/);
      const session = m && sessions.get(decodeURIComponent(m[1]));
      if (m && !session) return json(res, 404, { error: "Session not found" });
      if (m && req.method === "PUT" && !m[3]) {
        const headers = {
          "X-S2-Access-Token": S2_SKIP_TOKEN,
          "X-S2-Basin": BASIN,
          "X-S2-Stream-Name": streamName(session.key, m[2]),
          "X-S2-Endpoint": s2.endpoint,
          ...(credentials?.(session.key, m[2]) ?? {}),
        };
        return json(res, 202, { version: "v2" }, headers);
      }
      if (m && req.method === "POST" && m[3] && m[2] === "in") {
        const raw = await readBody(req);
        const partId = req.headers["x-part-id"] ?? nanoid();
        if (session.parts.has(partId)) return json(res, 200, { ok: true });
        const ack = await stream(session.key, "in").append(AppendInput.create([AppendRecord.string({ body: JSON.stringify({ data: raw, id: partId }) })]));
        session.parts.add(partId);
        const seq = Number(ack.start.seqNum);
        call.inSeq = seq;
        agent.onInput(session, JSON.parse(raw), seq).catch((e) => (session.agentError = String(e?.stack ?? e)));
        return json(res, 200, { ok: true, seq });
      }
      if (m && req.method === "GET" && !m[3]) {
        // §5.7: start after Last-Event-ID, clamp, S2's SSE body verbatim.
        const lei = req.headers["last-event-id"];
        call.lastEventId = lei;
        const n = lei === undefined ? NaN : Number.parseInt(String(lei).split("-")[0], 10);
        const start = Number.isInteger(n) && n >= 0 ? n + 1 : 0;
        const wait = Number(req.headers["timeout-seconds"] ?? 60);
        const ctl = new AbortController();
        res.on("close", () => ctl.abort());
        const upstream = await fetch(
          `${s2.endpoint}/streams/${encodeURIComponent(streamName(session.key, m[2]))}/records?seq_num=${start}&clamp=true&wait=${wait}`,
          { headers: { accept: "text/event-stream", "s2-format": "raw", "s2-basin": BASIN, authorization: `Bearer ${S2_SKIP_TOKEN}` }, signal: ctl.signal },
        );
        const headers = { "content-type": upstream.headers.get("content-type") ?? "text/event-stream", "x-stream-version": "v2", "access-control-expose-headers": "*" };
        res.writeHead(upstream.status, headers);
        if (!upstream.body) return res.end();
        Readable.fromWeb(upstream.body).on("error", () => res.destroy()).pipe(res);
        return;
      }
      json(res, 404, { error: "Not found" });
    } catch (e) {
      if (!res.headersSent) json(res, e.status ?? 500, { error: String(e?.message ?? e) });
      else res.destroy();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    session: (key) => sessions.get(key),
    /** The `.in` kinds the agent has received for a chat. */
    inbox: (key) => sessions.get(key)?.inbox ?? [],
    /** Waits until the agent has received something for `key` (or `deadlineMs` passes). */
    async agentGot(key, deadlineMs = 20_000) {
      const end = Date.now() + deadlineMs;
      while (Date.now() < end && !(sessions.get(key)?.inbox.length)) await new Promise((r) => setTimeout(r, 50));
      return sessions.get(key)?.inbox ?? [];
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** The tool calls a handover asks the agent to run: those with an approval request (§5.6). */
function pendingCalls(messages) {
  const parts = (messages ?? []).filter((m) => m.role === "assistant" && Array.isArray(m.content)).flatMap((m) => m.content);
  const approved = new Set(parts.filter((p) => p.type === "tool-approval-request").map((p) => p.toolCallId));
  return parts.filter((p) => p.type === "tool-call" && approved.has(p.toolCallId));
}

/**
 * An HTTP/1.1 proxy in front of s2-lite for the fetch transports (ours, and
 * the Trigger.dev SDK on workerd): it records every S2 request (method,
 * path, headers, body) and can answer or delay one instead (`fault(req)`
 * returns `{ status, body }`, `{ delayMs }` or nothing).
 */
export async function s2Proxy(s2Url, { fault } = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req, 16 << 20).catch(() => "");
    const entry = { method: req.method, path: req.url, headers: req.headers, body };
    requests.push(entry);
    const f = fault?.(entry);
    if (f?.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    if (f?.status) return json(res, f.status, f.body ?? { message: "fault", code: "fault" });
    const ctl = new AbortController();
    res.on("close", () => ctl.abort());
    try {
      const headers = { ...req.headers };
      delete headers.host;
      delete headers["content-length"];
      delete headers.connection;
      const upstream = await fetch(`${s2Url}${req.url}`, { method: req.method, headers, body: req.method === "GET" ? undefined : body, signal: ctl.signal });
      entry.status = upstream.status;
      const out = {};
      upstream.headers.forEach((v, k) => {
        if (!["content-length", "transfer-encoding", "connection", "content-encoding"].includes(k)) out[k] = v;
      });
      res.writeHead(upstream.status, out);
      if (!upstream.body) return res.end();
      Readable.fromWeb(upstream.body).on("error", () => res.destroy()).pipe(res);
    } catch (e) {
      if (!res.headersSent) json(res, 502, { message: `proxy: ${e?.message ?? e}`, code: "bad_gateway" });
      else res.destroy();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    endpoint: `${url}/v1`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
