// Deno: the head start on Deno.serve. Variables are the Cloudflare worker's:
// TRIGGER_API_URL, TRIGGER_SECRET_KEY, ANTHROPIC_API_KEY, HEADSTART_* (see
// the README); with no model key it answers with the offline scripted model.
//   deno run --allow-net --allow-env --allow-read main.ts
// (--allow-read: the package reads its .wasm next to its JS.)
import { createHandler, optionsFromEnv } from "headstart";

const handler = createHandler(optionsFromEnv(Deno.env.toObject()));

Deno.serve({ hostname: Deno.env.get("HOST") ?? "127.0.0.1", port: Number(Deno.env.get("PORT") ?? 3000) }, handler);
