// Next.js App Router, on the edge runtime: one optional catch-all route
// serves the head start (/api/chat) and its start, token and detached
// routes. The package's `edge-light` entry imports the wasm with `?module`,
// which Next bundles for edge routes. Variables are the Cloudflare worker's
// (TRIGGER_API_URL, TRIGGER_SECRET_KEY, ANTHROPIC_API_KEY, HEADSTART_*).
import { createHandler, optionsFromEnv } from "headstart";

export const runtime = "edge";
// Tool turns stream until the agent finishes: allow for it on Vercel.
export const maxDuration = 60;

const handler = createHandler(optionsFromEnv(process.env));

export function POST(request: Request): Promise<Response> {
  return handler(request);
}

export const OPTIONS = POST;
