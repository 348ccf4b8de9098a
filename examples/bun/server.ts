// Bun: the head start on Bun.serve. Variables are the Cloudflare worker's:
// TRIGGER_API_URL, TRIGGER_SECRET_KEY, ANTHROPIC_API_KEY, HEADSTART_* (see
// the README); with no model key it answers with the offline scripted model.
//   bun server.ts
import { createHandler, optionsFromEnv } from "headstart";

const handler = createHandler(optionsFromEnv(process.env));

const server = Bun.serve({ hostname: process.env.HOST ?? "127.0.0.1", port: Number(process.env.PORT ?? 3000), fetch: handler });
console.log(`headstart on ${server.url}`);
