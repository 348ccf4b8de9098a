// The runtime-neutral API of headstart over the wasm module in ./dist. The
// entries (index.js for Node, Deno and Bun; workerd.js for Cloudflare
// Workers; edge.js for Vercel Edge) load the wasm first, then re-export this.
import * as wasm from "./dist/headstart.js";

export const version = wasm.version;
export const convertToModelMessages = wasm.convertToModelMessages;
export const encodeUiMessageStream = wasm.encodeUiMessageStream;
export const streamStep = wasm.streamStep;

/**
 * The head-start routes as one handler. The options are checked here: a
 * bad one throws a TypeError that names it.
 * @param {import("./index.d.ts").HeadStartOptions} options
 * @returns {import("./index.d.ts").HeadStartHandler}
 */
export function createHandler(options) {
  const handler = new wasm.Handler(options);
  return (request, ctx) => handler.handle(request, ctx);
}

/**
 * The session platform's side of a head start, for servers that run step 1
 * with their own model code (e.g. the AI SDK's `streamText`) and want the
 * rest: open the session, tee step 1 to `.out`, hand over or skip, splice
 * the agent's stream.
 * @param {import("./index.d.ts").SessionClientOptions} options
 * @returns {import("./index.d.ts").SessionClient}
 */
export function createSessionClient(options) {
  const client = new wasm.SessionClient(options);
  return {
    openSession: (request) => client.openSession(request),
    appendOut: (chatId, chunks) => client.appendOut(chatId, chunks),
    handOver: (chatId, step) => client.handOver(chatId, step),
    skip: (chatId) => client.skip(chatId),
    splice: (chatId, options = {}) => client.splice(chatId, options),
  };
}

// The worker's variables (README "The head start", "Models") and the option
// each one sets. Numbers and JSON are parsed here; createHandler checks the
// values.
const STRINGS = {
  TRIGGER_API_URL: "platformUrl",
  TRIGGER_SECRET_KEY: "secretKey",
  HEADSTART_AGENT_ID: "agentId",
  HEADSTART_PROVIDER: "provider",
  HEADSTART_MODEL: "model",
  HEADSTART_SYSTEM: "system",
  HEADSTART_ALLOWED_ORIGINS: "allowedOrigins",
  HEADSTART_AUTH: "auth",
  HEADSTART_AUTH_JWT_SECRET: "authJwtSecret",
  HEADSTART_AUTH_JWKS_URL: "authJwksUrl",
  HEADSTART_AUTH_ISSUER: "authIssuer",
  HEADSTART_AUTH_AUDIENCE: "authAudience",
  HEADSTART_AUTH_ALGORITHMS: "authAlgorithms",
  HEADSTART_EDGE_TOOLS: "edgeTools",
  HEADSTART_FETCH_ALLOW: "fetchAllow",
};
const NUMBERS = {
  HEADSTART_MAX_TOKENS: "maxTokens",
  HEADSTART_TEMPERATURE: "temperature",
  HEADSTART_IDLE_TIMEOUT_SECS: "idleTimeoutSeconds",
  HEADSTART_MAX_BODY_BYTES: "maxBodyBytes",
  HEADSTART_STALL_TIMEOUT_MS: "stallTimeoutMs",
  HEADSTART_MAX_ATTEMPTS: "maxAttempts",
  HEADSTART_TEE_LINGER_MS: "teeLingerMs",
  HEADSTART_AUTH_LEEWAY_SECS: "authLeewaySeconds",
  HEADSTART_MAX_STEP1_TOKENS: "maxStep1Tokens",
  HEADSTART_MAX_HISTORY_MESSAGES: "maxHistoryMessages",
  HEADSTART_EDGE_MAX_STEPS: "edgeMaxSteps",
  HEADSTART_RETRY_BUDGET_MS: "retryBudgetMs",
};
const RATE_LIMIT = { HEADSTART_RATE_LIMIT_PER_MINUTE: "perMinute", HEADSTART_RATE_LIMIT_BURST: "burst" };
const JSONS = {
  HEADSTART_TOOLS: "tools",
  HEADSTART_PROVIDER_OPTIONS: "providerOptions",
  HEADSTART_HTTP_TOOLS: "httpTools",
  HEADSTART_MODEL_HEADERS: "headers",
};
const SCRIPTED = { HEADSTART_SCRIPTED_TTFB_MS: "ttfbMs", HEADSTART_SCRIPTED_TOKEN_MS: "tokenMs" };
const VERTEX = {
  GOOGLE_VERTEX_PROJECT: "project",
  GOOGLE_VERTEX_LOCATION: "location",
  GOOGLE_CLIENT_EMAIL: "clientEmail",
  GOOGLE_PRIVATE_KEY: "privateKey",
  GOOGLE_PRIVATE_KEY_ID: "privateKeyId",
  GOOGLE_TOKEN_URI: "tokenUri",
};

/**
 * Handler options from the same variables the Cloudflare worker reads, so
 * one configuration serves every runtime:
 * `createHandler(optionsFromEnv(process.env))`, `optionsFromEnv(Deno.env.toObject())`.
 * The provider is `HEADSTART_PROVIDER`, else the one whose key is set
 * (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `GOOGLE_GENERATIVE_AI_API_KEY`), else the
 * offline scripted model; Vertex AI (`HEADSTART_PROVIDER=vertex`) reads
 * `GOOGLE_VERTEX_*` and the service account's `GOOGLE_CLIENT_EMAIL`,
 * `GOOGLE_PRIVATE_KEY`, `GOOGLE_PRIVATE_KEY_ID`, `GOOGLE_TOKEN_URI`.
 * `TRIGGER_API_URL` defaults to https://api.trigger.dev, as in the Trigger.dev
 * SDK. Empty variables count as unset; `overrides` win.
 * @param {{ [name: string]: string | undefined }} env
 * @param {Partial<import("./index.d.ts").HeadStartOptions>} [overrides]
 * @returns {import("./index.d.ts").HeadStartOptions}
 */
export function optionsFromEnv(env, overrides = {}) {
  if (env === null || typeof env !== "object") throw new TypeError("headstart optionsFromEnv: env must be an object of strings");
  const get = (name) => {
    const value = env[name];
    return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  };
  const options = {};
  for (const [name, key] of Object.entries(STRINGS)) if (get(name) !== undefined) options[key] = get(name);
  for (const [name, key] of Object.entries(NUMBERS)) if (get(name) !== undefined) options[key] = number(name, get(name));
  for (const [name, key] of Object.entries(JSONS)) {
    if (get(name) === undefined) continue;
    try {
      options[key] = JSON.parse(get(name));
    } catch (e) {
      throw new TypeError(`headstart optionsFromEnv: ${name} is not JSON: ${e.message}`);
    }
  }
  // `npm start` and the tests: anonymous callers unless auth is set.
  if (["1", "true"].includes(get("HEADSTART_LOCAL"))) options.local = true;
  const rateLimit = {};
  for (const [name, key] of Object.entries(RATE_LIMIT)) if (get(name) !== undefined) rateLimit[key] = number(name, get(name));
  if (Object.keys(rateLimit).length) options.rateLimit = { perMinute: 20, ...rateLimit };
  // As the Trigger.dev SDK: the hosted platform unless told otherwise.
  options.platformUrl ??= "https://api.trigger.dev";
  // A Vertex service account, for `provider: "vertex"` or a Vertex entry of a list.
  const vertex = {};
  for (const [name, key] of Object.entries(VERTEX)) if (get(name) !== undefined) vertex[key] = get(name);
  if (get("HEADSTART_MODELS") !== undefined) {
    options.models = modelsFromEnv(get("HEADSTART_MODELS"), get);
    if (options.models.some((m) => m.provider === "vertex" && m.apiKey === undefined) && Object.keys(vertex).length) {
      options.vertex = vertex;
    }
    return { ...options, ...overrides };
  }
  const provider =
    options.provider ??
    (get("ANTHROPIC_API_KEY")
      ? "anthropic"
      : get("OPENAI_API_KEY")
        ? "openai"
        : get("GOOGLE_GENERATIVE_AI_API_KEY")
          ? "google"
          : "scripted");
  options.provider = provider;
  if (provider in VAR_PREFIX) {
    const prefix = VAR_PREFIX[provider];
    if (get(`${prefix}_API_KEY`) !== undefined) options.apiKey = get(`${prefix}_API_KEY`);
    if (get(`${prefix}_BASE_URL`) !== undefined) options.baseURL = get(`${prefix}_BASE_URL`);
    if (provider === "vertex" && Object.keys(vertex).length) options.vertex = vertex;
  } else if (provider === "scripted") {
    const scripted = {};
    for (const [name, key] of Object.entries(SCRIPTED)) if (get(name) !== undefined) scripted[key] = number(name, get(name));
    if (get("HEADSTART_SCRIPTED_FAULT") !== undefined) scripted.fault = get("HEADSTART_SCRIPTED_FAULT");
    if (Object.keys(scripted).length) options.scripted = scripted;
  }
  return { ...options, ...overrides };
}

// The variables of a provider's key and base URL: `<PREFIX>_API_KEY`, `<PREFIX>_BASE_URL`.
const VAR_PREFIX = {
  anthropic: "ANTHROPIC",
  openai: "OPENAI",
  "openai-chat": "OPENAI",
  google: "GOOGLE_GENERATIVE_AI",
  vertex: "GOOGLE_VERTEX",
};

/**
 * `HEADSTART_MODELS` (README "Fallback") as `models`: `provider:model,...`
 * with each provider's own variables, or a JSON array of `{provider, model,
 * baseURL, apiKeyVar, headers, headersVar}` whose keys and secret headers
 * are read from the variables they name.
 */
function modelsFromEnv(text, get) {
  const fail = (message) => {
    throw new TypeError(`headstart optionsFromEnv: HEADSTART_MODELS: ${message}`);
  };
  let entries;
  if (text.startsWith("[")) {
    try {
      entries = JSON.parse(text);
    } catch (e) {
      fail(`not JSON: ${e.message}`);
    }
    if (!Array.isArray(entries)) fail("must be a JSON array");
  } else {
    entries = text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((item) => {
        const at = item.indexOf(":");
        return at < 0 ? { provider: item } : { provider: item.slice(0, at).trim(), model: item.slice(at + 1).trim() || undefined };
      });
  }
  return entries.map((entry, i) => {
    if (entry === null || typeof entry !== "object") fail(`entry ${i + 1} must be an object`);
    const { provider, model, baseURL, apiKeyVar, headers, headersVar, ...rest } = entry;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) fail(`entry ${i + 1}: unknown key ${JSON.stringify(unknown)}`);
    const prefix = VAR_PREFIX[provider];
    const out = { provider };
    if (model !== undefined) out.model = model;
    const apiKey = apiKeyVar !== undefined ? get(apiKeyVar) : prefix && get(`${prefix}_API_KEY`);
    if (apiKeyVar !== undefined && apiKey === undefined) fail(`entry ${i + 1}: ${apiKeyVar} (its apiKeyVar) is not set`);
    if (apiKey !== undefined) out.apiKey = apiKey;
    const url = baseURL ?? (prefix && get(`${prefix}_BASE_URL`));
    if (url !== undefined) out.baseURL = url;
    let secret = {};
    if (headersVar !== undefined) {
      try {
        secret = JSON.parse(get(headersVar) ?? "");
      } catch {
        secret = undefined;
      }
      // Never spread an array or a string into headers named "0", "1", ...
      if (secret === null || typeof secret !== "object" || Array.isArray(secret)) {
        fail(`entry ${i + 1}: ${headersVar} (its headersVar) must hold a JSON object of headers`);
      }
    }
    if (headers !== undefined || headersVar !== undefined) out.headers = { ...headers, ...secret };
    return out;
  });
}

function number(name, text) {
  const n = Number(text);
  if (!Number.isFinite(n)) throw new TypeError(`headstart optionsFromEnv: ${name} must be a number, got ${JSON.stringify(text)}`);
  return n;
}
