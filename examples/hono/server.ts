// Hono: the head start mounted in an app, next to its other routes. Runs
// wherever Hono runs; this file is the Bun entry (`bun server.ts`). On
// Cloudflare Workers pass the execution context along:
// `(c) => headstart(c.req.raw, c.executionCtx)`.
import { Hono } from "hono";
import { createHandler, optionsFromEnv } from "headstart";

const headstart = createHandler(optionsFromEnv(process.env));

const app = new Hono();
app.get("/", (c) => c.text("your app"));
// The head start and its start, token and detached routes. Put your own
// authentication in front: these routes hand out chat tokens.
app.on(["POST", "OPTIONS"], ["/api/chat", "/api/chat/*"], (c) => headstart(c.req.raw));

export default { hostname: process.env.HOST ?? "127.0.0.1", port: Number(process.env.PORT ?? 3000), fetch: app.fetch };
