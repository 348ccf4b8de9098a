// Type declarations of the headstart package (pkg/index.js).

/** A JSON Schema object (the tool's input schema). */
export type JsonSchema = { [key: string]: unknown };

/** A schema-only tool: the model may call it; the agent executes it. */
export interface ToolSpec {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
}

/** Tools as a list, or as an object keyed by name (the AI SDK's `tools` shape). */
export type Tools = ToolSpec[] | { [name: string]: Omit<ToolSpec, "name"> };

/** The offline, deterministic scripted model's pace (and an injected fault). */
export interface ScriptedModelOptions {
  /** Time to the first token, ms (default 300). */
  ttfbMs?: number;
  /** Time between tokens, ms (default 15). */
  tokenMs?: number;
  /** `"error"` mid-stream, `"stall"`, or `"http-<status>"`. */
  fault?: "error" | "stall" | `http-${number}`;
}

/** One model of `models`: a provider with its own key, base URL and headers. */
export interface ModelChoiceOptions {
  provider: "anthropic" | "openai" | "openai-chat" | "google" | "vertex" | "scripted";
  /** Model id (default: the provider's). */
  model?: string;
  /** The provider's API key (required but for `scripted`, and for `vertex` with the service account of `vertex`). */
  apiKey?: string;
  /** The provider's base URL, e.g. an OpenAI-compatible host or a gateway. */
  baseURL?: string;
  /** Request headers added to this model's calls; never logged. */
  headers?: { [name: string]: string };
}

/** The routes' paths (each must start with `/`, all different). */
export interface HeadStartPaths {
  /** The head start (default `/api/chat`). */
  headStart?: string;
  /** `{chatId, clientData?}` → a preload session (default `/api/chat/start`). */
  start?: string;
  /** `{chatId}` → a fresh session token (default `/api/chat/token`). */
  token?: string;
  /** A head start drained into `.out` after the response (default `/api/chat/detached`). */
  detached?: string;
}

/** One turn's timings, ms since the request (`null`: did not happen). */
export interface TurnTiming {
  event: "headstart.turn";
  chatId: string;
  /** `handover` (the agent took over), `skip` (`handover-skip` sent), `no-session`. */
  decision: "handover" | "skip" | "no-session" | "";
  sessionCreatedMs: number | null;
  providerTtfbMs: number | null;
  firstChunkOutMs: number | null;
  stepEndMs: number | null;
  handoverMs: number | null;
  firstAgentChunkMs: number | null;
  turnCompleteMs: number | null;
}

/**
 * The options of {@link createHandler}, mirroring the worker's environment
 * (README "The head start" and "Models"). Unknown keys are refused.
 */
export interface HeadStartOptions {
  /** The Trigger.dev-compatible session platform's base URL, e.g. `https://api.trigger.dev` or a self-hosted worker. */
  platformUrl: string;
  /** The platform's secret key (`tr_dev_…`, `tr_prod_…`). */
  secretKey: string;
  /** The agent's task identifier (default `headstart-agent`). */
  agentId?: string;
  /** Step 1's model provider (default: `scripted`; required with `apiKey`). */
  provider?: "anthropic" | "openai" | "openai-chat" | "google" | "vertex" | "scripted";
  /** Model id (default `claude-sonnet-4-5` / `gpt-4o-mini` / `gemini-2.5-flash`). */
  model?: string;
  /** The provider's API key (required for `anthropic`, `openai`, `openai-chat` and `google`; for `vertex`, an express-mode key or `vertex`). */
  apiKey?: string;
  /** The provider's base URL (`openai`: the OpenAI Responses API; `openai-chat`: any OpenAI-compatible Chat Completions server). */
  baseURL?: string;
  /** Request headers added to the model's calls (e.g. a gateway's `cf-aig-authorization`); never logged. */
  headers?: { [name: string]: string };
  /**
   * The models step 1 tries in order, in place of `provider`/`model`/`apiKey`/`baseURL`/`headers`:
   * a model that fails before its first byte reached the client (429, 5xx, overload, a stall, a
   * network error) hands the step to the next; 400/401/403 do not fall through.
   */
  models?: ModelChoiceOptions[];
  /** The most a step waits in all between attempts (backoff, `retry-after`), over all its models, ms (default 15000). */
  retryBudgetMs?: number;
  /** System prompt. */
  system?: string;
  /** Max output tokens (provider default; Anthropic: 4096), at most `maxStep1Tokens`. */
  maxTokens?: number;
  /** Sampling temperature, 0 to 2. */
  temperature?: number;
  /** Schema-only tools (default: `get_weather`, `calculator`, `fetch_url`). */
  tools?: Tools;
  /** Passed through to the provider, e.g. `{ anthropic: { thinking: { type: "enabled", budgetTokens: 1024 } } }`. */
  providerOptions?: { [provider: string]: unknown };
  /** The agent's handover wait and step 1's idle limit, seconds, 1 to 3600 (default 60). */
  idleTimeoutSeconds?: number;
  /** Cap of a request body, bytes (default 32768). */
  maxBodyBytes?: number;
  /** Origins that may call the routes cross-origin and read their headers: a list, a comma-separated string, or `"*"`. */
  allowedOrigins?: string[] | string;
  /**
   * Vertex AI with a service account (provider `vertex`, without `apiKey`):
   * the project and location (default `us-central1`; `global` too) and the
   * account's `client_email`, `private_key` (PKCS#8 PEM) and `private_key_id`
   * from its JSON key file. Signed with WebCrypto; the token is cached until
   * shortly before it expires.
   */
  vertex?: { project?: string; location?: string; clientEmail?: string; privateKey?: string; privateKeyId?: string; tokenUri?: string };
  /** The scripted model's pace (provider `scripted` only). */
  scripted?: ScriptedModelOptions;
  /** The routes' paths. */
  paths?: HeadStartPaths;
  /** A model call with no byte for this long fails, ms (default 60000). */
  stallTimeoutMs?: number;
  /** Attempts of a model call that fails before streaming, per model, 1 to 3 (default 3). */
  maxAttempts?: number;
  /** Linger of the `.out` batches, ms (default: the platform's `X-S2-Flush-Interval-Ms`, 200 when it sends none, as the Trigger.dev SDK). */
  teeLingerMs?: number;
  /** Extra run tags (after `chat:<id>`), at most 9. */
  tags?: string[];
  /** Keys spread into the agent run's payload (the request's keys win). */
  basePayload?: { [key: string]: unknown };
  /** Called with each turn's timings when the turn ends. */
  onTurn?: (timing: TurnTiming) => void;
  /**
   * Who may call the routes. With a JWT key set, callers need a valid
   * `Authorization: Bearer <JWT>`; `"anonymous"` serves anyone (identified by
   * IP). With neither (and not `local`), every route answers 503 naming these
   * options.
   */
  auth?: "anonymous" | "jwt";
  /** The HS256 secret of the callers' JWTs (e.g. Supabase's JWT secret). */
  authJwtSecret?: string;
  /** The JWKS URL of the callers' RS256/ES256 JWTs (Clerk, Auth0, Supabase, Firebase). */
  authJwksUrl?: string;
  /** The JWTs' `iss` (required with `authJwksUrl`). */
  authIssuer?: string;
  /** Accepted `aud` values (a list or a comma-separated string); unset: not checked. */
  authAudience?: string | string[];
  /** Accepted algorithms (default: HS256 with a secret, RS256 and ES256 with a JWKS). */
  authAlgorithms?: string | Array<"HS256" | "RS256" | "ES256">;
  /** Slack on `exp`/`nbf`, seconds, 0 to 600 (default 60). */
  authLeewaySeconds?: number;
  /** A local process (`npm start`, tests): anonymous callers unless a JWT key is set. */
  local?: boolean;
  /**
   * Your own check of the caller, instead of JWTs. Gets the request (do not
   * read its body: the route does) and returns the caller's id (a string or
   * `{ id }`), a Response to answer with, or null to refuse (401). A
   * Promise that has not settled after 10 s refuses the caller (503
   * `auth_unavailable`).
   */
  authorize?: (request: Request) => AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * Each caller's rate limit, checked before anything is read or spent (`429`
   * JSON `{ error, code: "rate_limited" }` with `Retry-After`). Default: the
   * built-in limiter at 20 a minute, 20 at once. `{ perMinute, burst? }`:
   * the built-in limiter (in this process's memory) at that rate (`burst`
   * defaults to `perMinute`; `perMinute: 0` turns it off); `false`: no
   * limit; a function: yours (e.g. over Redis). The head start, detached
   * head start and start routes spend the `"turn"` budget, the token route
   * its own `"token"` one.
   */
  rateLimit?: false | RateLimitRate | RateLimitFunction;
  /** Ceiling of step 1's output tokens, whatever `maxTokens` says (default 4096). */
  maxStep1Tokens?: number;
  /** The most UI messages a head start may carry (default 50; more is `413 too_many_messages`). */
  maxHistoryMessages?: number;
  /**
   * Edge steps (off by default): tools the handler runs itself, by name
   * (`get_weather`, `calculator`, `fetch_url`, or an HTTP tool of
   * `httpTools`), with the steps after them, while the agent boots. A turn
   * whose tools are all edge tools can end here, handed to the agent as
   * final; a call of any other tool hands the turn over at that step.
   */
  edgeTools?: string[] | string;
  /** Model steps at the edge, step 1 included (2-16, default 4). */
  edgeMaxSteps?: number;
  /**
   * HTTP tools the edge may run, as the agent's `HEADSTART_HTTP_TOOLS`:
   * `{ name: { url, description?, inputSchema?, headers?, timeoutMs? } }`
   * (the input is POSTed as JSON; private and metadata addresses are refused).
   */
  httpTools?: Record<string, { url: string; description?: string; inputSchema?: object; headers?: Record<string, string>; timeoutMs?: number }>;
  /** The only hosts edge tools may reach (`docs.example.com`, `*.example.com`); default any public host. */
  fetchAllow?: string[] | string;
}

/** What `authorize` returns. */
export type AuthorizeResult = string | { id: string } | Response | null | undefined;

/** The built-in limiter's rate: `burst` calls at once, then `perMinute` a minute. */
export interface RateLimitRate {
  perMinute: number;
  burst?: number;
}

/**
 * A rate limiter of your own. `key` is the caller: `id:<sub>` for a JWT's
 * subject, `id:<id>` for `authorize`'s, and for anonymous callers their
 * client address (`CF-Connecting-IP` or the first `X-Forwarded-For` hop, else
 * `"anonymous"`); `request` the request (do not read its body), `budget` what it spends.
 * Answer `true` to go on, `false` to refuse (`Retry-After: 60`) or
 * `{ retryAfterSeconds }` to refuse for that long. A throw, a rejection or
 * another answer lets the call through and is logged: an outage of your
 * store does not take the chat down.
 */
export type RateLimitFunction = (
  key: string,
  request: Request,
  budget: "turn" | "token",
) => boolean | { retryAfterSeconds: number } | Promise<boolean | { retryAfterSeconds: number }>;

/** What runtimes that keep work alive after a response pass (Workers, Vercel Edge). */
export interface HandlerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * The head-start routes: `POST` head start, detached head start, start and
 * token (4xx JSON on bad input), `OPTIONS` preflight, 404 JSON for other
 * paths. The head start's response opens as soon as the session exists and
 * streams the turn; cancelling its body (or aborting `request.signal`) drops
 * the turn and aborts the model call.
 *
 * `context` is the runtime's second argument, whatever it is (`ctx` on
 * Workers, `info` on Deno, the server on Bun): when it has `waitUntil`,
 * work that outlives the response is handed to it.
 */
export type HeadStartHandler = (request: Request, context?: HandlerContext | object) => Promise<Response>;

/** Builds the handler; throws a `TypeError` naming a bad option. */
export function createHandler(options: HeadStartOptions): HeadStartHandler;

/**
 * Handler options from the variables the Cloudflare worker reads
 * (`TRIGGER_API_URL`, `TRIGGER_SECRET_KEY`, `HEADSTART_AGENT_ID`,
 * `HEADSTART_PROVIDER`, `HEADSTART_MODEL`, `ANTHROPIC_API_KEY`,
 * `ANTHROPIC_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
 * `HEADSTART_SYSTEM`, `HEADSTART_MAX_TOKENS`, `HEADSTART_TEMPERATURE`,
 * `HEADSTART_TOOLS`, `HEADSTART_PROVIDER_OPTIONS`,
 * `HEADSTART_IDLE_TIMEOUT_SECS`, `HEADSTART_MAX_BODY_BYTES`,
 * `HEADSTART_ALLOWED_ORIGINS`, `HEADSTART_TEE_LINGER_MS`,
 * `HEADSTART_STALL_TIMEOUT_MS`, `HEADSTART_MAX_ATTEMPTS`,
 * `HEADSTART_SCRIPTED_TTFB_MS`, `HEADSTART_SCRIPTED_TOKEN_MS`,
 * `HEADSTART_SCRIPTED_FAULT`, `HEADSTART_RATE_LIMIT_PER_MINUTE`,
 * `HEADSTART_RATE_LIMIT_BURST`, `HEADSTART_MAX_STEP1_TOKENS`,
 * `HEADSTART_MAX_HISTORY_MESSAGES`, `HEADSTART_EDGE_TOOLS`,
 * `HEADSTART_EDGE_MAX_STEPS`, `HEADSTART_HTTP_TOOLS`, `HEADSTART_FETCH_ALLOW`), e.g. `createHandler(optionsFromEnv(process.env))`.
 * The provider is `HEADSTART_PROVIDER`, else the one whose key is set, else
 * the scripted model; `TRIGGER_API_URL` defaults to https://api.trigger.dev.
 * Empty variables count as unset; `overrides` win.
 * Throws a `TypeError` naming a variable that is not a number or not JSON.
 */
export function optionsFromEnv(
  env: { [name: string]: string | undefined },
  overrides?: Partial<HeadStartOptions>,
): HeadStartOptions;

/** The options of {@link createSessionClient} (as {@link HeadStartOptions}). */
export interface SessionClientOptions {
  platformUrl: string;
  secretKey: string;
  agentId?: string;
  idleTimeoutSeconds?: number;
  tags?: string[];
  basePayload?: { [key: string]: unknown };
}

/** A UI message chunk of the AI SDK (`UIMessageChunk`), as JSON. */
export type UiMessageChunk = { type: string; [key: string]: unknown };

/** An AI SDK model message (`ModelMessage`), as JSON. */
export type ModelMessage = { role: "system" | "user" | "assistant" | "tool"; content: unknown; [key: string]: unknown };

/** A session opened for a head start. */
export interface OpenedSession {
  /** The browser's token: send it as the `X-Trigger-Chat-Access-Token` response header. */
  publicAccessToken: string;
  runId: string;
  sessionId: string;
  isCached: boolean;
  /** Send `X-Trigger-Chat-Pending-Version: 1` when true. */
  pendingVersion?: true;
}

/**
 * The session platform's side of a head start, for servers that run step 1
 * with their own model code (e.g. the AI SDK's `streamText`). The ordering
 * rules stay the caller's: open the session, write step 1's chunks to
 * `.out` before the handover, splice after the last seq written. Each call
 * retries as the Trigger.dev SDK does and rejects with an `Error` that has
 * `status` (when the platform answered) and `code`.
 */
export interface SessionClient {
  /** `POST /api/v1/sessions` with the agent run in `handover-prepare`; `body` is the browser's head-start body. */
  openSession(body: { chatId: string; headStartMessages: unknown[]; metadata?: unknown; [key: string]: unknown }): Promise<OpenedSession>;
  /** Step 1's UI chunks onto `.out`, in order; `lastSeq` is the seq to splice after (`null` for none). */
  appendOut(chatId: string, chunks: UiMessageChunk[]): Promise<{ lastSeq: number | null }>;
  /**
   * The handover on `.in`: `tool-calls` hands the calls over for the agent to
   * run (as an approved round); any other finish is final and the agent only
   * persists the turn.
   */
  handOver(chatId: string, step: { messageId: string; responseMessages: ModelMessage[]; finishReason: string }): Promise<{ seq?: number }>;
  /** `handover-skip` on `.in`: step 1 will not come; the agent exits. */
  skip(chatId: string): Promise<{ seq?: number }>;
  /**
   * The agent's chunks from `.out` after `afterSeq`, then
   * `trigger:turn-complete` and `trigger:session-state`, as an SSE body to
   * append to the browser's response. Cancel it to stop following.
   */
  splice(chatId: string, options?: { afterSeq?: number | null }): ReadableStream<Uint8Array>;
}

/** Builds a {@link SessionClient}; throws a `TypeError` naming a bad option. */
export function createSessionClient(options: SessionClientOptions): SessionClient;

/** The parts of node:http's `IncomingMessage` the adapter reads. */
export interface NodeIncomingMessage extends AsyncIterable<Uint8Array | string> {
  method?: string;
  url?: string;
  headers: { [name: string]: string | string[] | undefined };
  rawHeaders: string[];
  socket?: unknown;
}

/** The parts of node:http's `ServerResponse` the adapter uses. */
export interface NodeServerResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  writeHead(status: number, statusMessage?: string, headers?: { [name: string]: string | string[] }): unknown;
  flushHeaders(): void;
  write(chunk: Uint8Array): boolean;
  end(chunk?: string | Uint8Array): unknown;
  destroy(error?: Error): unknown;
  on(event: "drain" | "close", listener: () => void): unknown;
  once(event: "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * A node:http request listener for a Web handler:
 * `http.createServer(toNodeListener(createHandler(options)))`. The request
 * body is read in full; the response body is written chunk by chunk; a
 * client that goes away aborts the request's signal and cancels the body.
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
): (req: NodeIncomingMessage, res: NodeServerResponse) => Promise<void>;

/** The crate version. */
export function version(): string;

/** The AI SDK's `convertToModelMessages(uiMessages)`, computed by the wasm (throws on what the SDK rejects). */
export function convertToModelMessages(messages: unknown[]): unknown[];

/** UI message chunks as an SSE body (`data: <json>\n\n` each), each checked against the chunk catalogue. */
export function encodeUiMessageStream(chunks: unknown[]): string;

/**
 * Runs one model step and streams its UI message chunks as SSE. `settings`
 * uses the worker's variable names (`HEADSTART_PROVIDER`, `ANTHROPIC_API_KEY`,
 * …); `messages` are model messages. Cancelling the stream aborts the call.
 */
export function streamStep(
  settings: { [variable: string]: string | number | boolean },
  messages: unknown[],
  messageId: string,
): ReadableStream<Uint8Array>;
