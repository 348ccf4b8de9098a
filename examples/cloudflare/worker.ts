// Cloudflare Workers: the head start from the headstart package (its
// `workerd` entry, which imports the wasm as a module; no compatibility
// flags). Variables are the worker's own: TRIGGER_API_URL and
// TRIGGER_SECRET_KEY for the session platform (Trigger.dev's, or a
// self-hosted headstart worker), ANTHROPIC_API_KEY for a real model.
//   npx wrangler dev --config examples/cloudflare/wrangler.toml
import { createHandler, optionsFromEnv, type HeadStartHandler } from "headstart";

let handler: HeadStartHandler | undefined;

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/healthz") return Response.json({ ok: true });
    // Built on the first request: env is per-request on Workers.
    handler ??= createHandler(optionsFromEnv(env as Record<string, string>));
    return handler(request, ctx);
  },
} satisfies ExportedHandler<Record<string, string>>;
