// A Cloudflare Worker that serves the head start with the headstart
// package (its `workerd` entry). The platform is any Trigger.dev-compatible
// one: Trigger.dev's, or headstart's own worker (set PLATFORM_URL).
import { createHandler } from "headstart";

let handler;

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/healthz") return Response.json({ ok: true });
    handler ??= createHandler({
      platformUrl: env.PLATFORM_URL,
      secretKey: env.TRIGGER_SECRET_KEY,
      // Offline by default; set ANTHROPIC_API_KEY (and provider: "anthropic") for a real model.
      ...(env.ANTHROPIC_API_KEY ? { provider: "anthropic", apiKey: env.ANTHROPIC_API_KEY } : { scripted: { ttfbMs: 20, tokenMs: 2 } }),
    });
    return handler(request, ctx);
  },
};
