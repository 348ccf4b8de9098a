// @ts-check
// Node + Express: the head start mounted with toNodeListener, which reads
// the raw body itself (mount it before any body parser), streams the
// response chunk by chunk and turns a client that goes away into an abort.
// Variables are the Cloudflare worker's (TRIGGER_API_URL, TRIGGER_SECRET_KEY,
// ANTHROPIC_API_KEY, HEADSTART_*).
//   node server.mjs
import express from "express";
import { createHandler, optionsFromEnv, toNodeListener } from "headstart";

const headstart = toNodeListener(createHandler(optionsFromEnv(process.env)));

const app = express();
app.get("/", (_req, res) => void res.send("your app"));
// A route (not app.use), so Express leaves req.url whole for the handler's
// own routing: /api/chat, /api/chat/start, /api/chat/token, /api/chat/detached.
app.all(/^\/api\/chat(\/.*)?$/, headstart);

const host = process.env.HOST ?? "127.0.0.1";
const server = app.listen(Number(process.env.PORT ?? 3000), host, () => {
  const address = server.address();
  console.log(`headstart on http://${host}:${typeof address === "object" && address ? address.port : "?"}`);
});
