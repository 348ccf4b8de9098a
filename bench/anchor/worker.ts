// The benchmark's anchor: what a user would run instead of headstart — the
// TypeScript head-start handler, `chat.headStart` from @trigger.dev/sdk with
// the AI SDK's Anthropic provider, as the Trigger.dev docs set it up, on
// Cloudflare Workers (nodejs_compat, as it requires). It talks to the same
// session platform through its own unmodified client, and to the same model
// server. Bundled by bench/run.mjs with esbuild into build/anchor/worker.mjs.
import { chat } from "@trigger.dev/sdk/chat-server";
import { jsonSchema, streamText, tool } from "ai";
import { createAnthropic } from "@ai-sdk/anthropic";

interface Env {
  TRIGGER_API_URL: string;
  TRIGGER_SECRET_KEY: string;
  ANTHROPIC_BASE_URL?: string;
  ANTHROPIC_API_KEY: string;
  HEADSTART_MODEL?: string;
  HEADSTART_AGENT_ID?: string;
}

// Schema-only tools (the agent executes them), the same three as headstart's.
const tools = {
  get_weather: tool({
    description: "Get the current weather for a city.",
    inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string", description: "City name" } }, required: ["city"], additionalProperties: false }),
  }),
  calculator: tool({
    description: "Evaluate an arithmetic expression.",
    inputSchema: jsonSchema<{ expression: string }>({ type: "object", properties: { expression: { type: "string" } }, required: ["expression"], additionalProperties: false }),
  }),
  fetch_url: tool({
    description: "Fetch a web page and return its text.",
    inputSchema: jsonSchema<{ url: string }>({ type: "object", properties: { url: { type: "string" } }, required: ["url"], additionalProperties: false }),
  }),
};

let handler: ((req: Request) => Promise<Response>) | undefined;

function headStart(env: Env) {
  handler ??= chat.headStart({
    agentId: env.HEADSTART_AGENT_ID ?? "headstart-agent",
    apiClient: { baseURL: env.TRIGGER_API_URL, secretKey: env.TRIGGER_SECRET_KEY },
    run: async ({ chat }) =>
      streamText({
        ...chat.toStreamTextOptions({ tools }),
        model: createAnthropic({ baseURL: env.ANTHROPIC_BASE_URL, apiKey: env.ANTHROPIC_API_KEY })(env.HEADSTART_MODEL ?? "claude-sonnet-4-5"),
        // headstart's Anthropic default, for the same request.
        maxOutputTokens: 4096,
      }),
  });
  return handler;
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === "/healthz") return Response.json({ ok: true });
    if (path === "/api/chat" && req.method === "POST") return headStart(env)(req);
    return Response.json({ error: "not found", code: "not_found" }, { status: 404 });
  },
};
