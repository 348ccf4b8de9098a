// The setups the benchmark compares, all against one self-hosted platform
// (with the reference agent's boot delay) and one loopback model server:
//
// | id | what the first message goes to |
// |---|---|
// | direct | the agent, through the real browser transport: no head start |
// | preload | the same, the chat preloaded a second before the message |
// | anchor | the TypeScript `chat.headStart` (@trigger.dev/sdk) on workerd |
// | worker | headstart's Cloudflare worker as the head-start handler |
// | worker-edge | the same worker with edge steps: `get_weather` and step 2 run in the handler |
// | worker-seq | the same worker, session create and step 1 one after the other (ablation) |
// | workerd, deno, bun, edge-runtime, node20 | the headstart JS package, through its examples |
//
// `start(env)` brings a handler up; `pid` is the process whose CPU and
// memory are the handler's (for workerd, the worker's own workerd). `turn`
// runs one first turn; a head start (`headStartTurn`) unless given.
import { startWrangler } from "../tests/e2e/wrangler.mjs";
import { startRuntime } from "../tests/runtimes/servers.mjs";
import { workerdOf } from "./proc.mjs";
import { directTurn, headStartTurn } from "./turns.mjs";

const headStart = (ctx, args) => headStartTurn(ctx.url, args);

const viaWrangler = async (opts) => {
  const w = await startWrangler(opts);
  return { url: w.url, pid: workerdOf(w.pid), stop: w.stop, log: w.log };
};

const viaRuntime = (name) => async (env) => {
  const r = await startRuntime(name, env);
  return { url: r.url, pid: name === "workerd" ? workerdOf(r.pid) : r.pid, stop: r.stop, log: r.log };
};

const SETUP_LIST = [
  {
    id: "direct",
    label: "no head start",
    runtime: "—",
    bundle: null,
    start: null,
    turn: (ctx, args) => directTurn(ctx.platformUrl, args),
  },
  {
    id: "preload",
    label: "preload, 1 s before the message",
    runtime: "—",
    bundle: null,
    start: null,
    turn: (ctx, args) => directTurn(ctx.platformUrl, { ...args, preloadMs: 1000 }),
  },
  {
    id: "anchor",
    label: "TypeScript chat.headStart",
    runtime: "workerd",
    bundle: "anchor",
    start: (env) => viaWrangler({ config: "bench/anchor/wrangler.toml", vars: env }),
  },
  {
    id: "worker",
    label: "headstart worker",
    runtime: "workerd",
    bundle: "worker",
    start: (env) => viaWrangler({ vars: { ...env, HEADSTART_BENCH: "1" } }),
  },
  {
    id: "worker-edge",
    label: "headstart worker, edge steps",
    runtime: "workerd",
    bundle: "worker",
    start: (env) => viaWrangler({ vars: { ...env, HEADSTART_BENCH: "1", HEADSTART_EDGE_TOOLS: "get_weather" } }),
    turn: (ctx, args) => headStartTurn(ctx.url, { ...args, edge: true }),
  },
  {
    id: "worker-seq",
    label: "headstart worker, sequential (ablation)",
    runtime: "workerd",
    bundle: "worker",
    shares: "worker",
    turn: (ctx, args) => headStartTurn(ctx.url, { ...args, headers: { "x-headstart-sequential": "1" } }),
  },
  { id: "workerd", label: "headstart package", runtime: "workerd", bundle: "pkg", start: viaRuntime("workerd") },
  { id: "deno", label: "headstart package", runtime: "Deno 2", bundle: "pkg", start: viaRuntime("deno") },
  { id: "bun", label: "headstart package", runtime: "Bun 1", bundle: "pkg", start: viaRuntime("bun") },
  {
    id: "edge-runtime",
    label: "headstart package, Next.js route",
    runtime: "edge-runtime",
    bundle: "pkg",
    start: viaRuntime("edge-runtime"),
  },
  { id: "node20", label: "headstart package, Express", runtime: "Node 20", bundle: "pkg", start: viaRuntime("node20") },
];

export const SETUPS = SETUP_LIST.map((s) => ({ turn: headStart, ...s }));
