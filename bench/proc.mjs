// Per-process counters from /proc (Linux): CPU time and memory of a
// handler's own process, read before and after its turns.
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";

const TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** User + system CPU time of `pid`, ms (resolution 1000/CLK_TCK ms). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

/** `VmHWM` (peak resident set) and `VmRSS` of `pid`, KiB. */
export function memoryKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return { peak: field("VmHWM"), rss: field("VmRSS") };
}

/** Every process below `pid`, with its command line. */
export function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {}
  }
  const out = [];
  const walk = (p) => {
    for (const c of children.get(p) ?? []) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${c}/cmdline`, "utf8").split("\0").join(" ");
      } catch {}
      out.push({ pid: c, cmdline });
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * The workerd process that runs the worker under `wrangler dev` (started
 * as `wranglerPid`). wrangler runs two: a dev proxy in front, and the
 * worker's own runtime, the one with an inspector; this is the latter.
 */
export function workerdOf(wranglerPid) {
  const procs = descendants(wranglerPid).filter((p) => /\/workerd serve/.test(p.cmdline));
  const worker = procs.find((p) => p.cmdline.includes("--inspector-addr"));
  if (!worker) throw new Error(`no workerd worker process under ${wranglerPid}: ${JSON.stringify(procs)}`);
  return worker.pid;
}

/** p50, p95, min, max of numbers (nearest rank); nulls are dropped. */
export function stats(values) {
  const s = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return null;
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { p50: q(0.5), p95: q(0.95), min: s[0], max: s.at(-1), n: s.length };
}
