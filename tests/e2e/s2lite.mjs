// The real S2 server for the tests: s2-lite (crate `s2-lite`, binary
// `server`, installed pinned by scripts/setup.sh), in memory on a free
// port reached on 127.0.0.1, plain HTTP (HTTP/1.1 and h2c). It has no
// option to bind one address: it listens on every interface while a test
// runs (no CORS, no dashboard, throwaway data, accepts any token). `restart()` stops it and
// starts a fresh one on the same port: in memory, so every basin and
// stream is gone, as after a crash of a server without storage.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { freePort, startProcess } from "./wrangler.mjs";

/** The binary: `S2_LITE_BIN`, else where `cargo install` put it. */
export const S2_LITE_BIN = process.env.S2_LITE_BIN ?? join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "bin/server");
export const S2_LITE_VERSION = "0.43.4";

/** A valid basin name (S2: 8 to 48 of a-z, 0-9, inner '-'). */
export const BASIN = "headstart-conformance";

/**
 * The basin the session platform uses: streams are created by their first
 * append or read, as the hosted platform's tokens allow (`create-stream`).
 */
export const BASIN_CONFIG = { create_stream_on_append: true, create_stream_on_read: true };

/**
 * @returns {Promise<{ url: string, endpoint: string, port: number, log: () => string,
 *   createBasin: (name?: string, config?: object) => Promise<void>,
 *   stop: () => Promise<void>, restart: () => Promise<void> }>}
 */
export async function startS2Lite({ readyTimeoutMs = 30_000 } = {}) {
  if (!existsSync(S2_LITE_BIN)) throw new Error(`s2-lite is not installed at ${S2_LITE_BIN}: run scripts/setup.sh`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let proc;
  let logs = "";
  const launch = async () => {
    proc = startProcess(S2_LITE_BIN, ["--port", String(port), "--no-dashboard", "--no-cors"], {
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null) break;
      try {
        const res = await fetch(`${url}/v1/basins`, { headers: { authorization: "Bearer x" }, signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    await proc.stop();
    throw new Error(`s2-lite did not become ready on ${url}:\n${proc.output()}`);
  };
  const stopProc = async () => {
    if (!proc) return;
    await proc.stop();
    logs += proc.output();
    proc = undefined;
  };
  const createBasin = async (name = BASIN, config = BASIN_CONFIG) => {
    const res = await fetch(`${url}/v1/basins`, {
      method: "POST",
      headers: { authorization: "Bearer x", "content-type": "application/json" },
      body: JSON.stringify({ basin: name, config }),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok && res.status !== 409) throw new Error(`creating basin ${name}: ${res.status} ${await res.text()}`);
  };
  await launch();
  return {
    url,
    endpoint: `${url}/v1`,
    port,
    log: () => logs + (proc?.output() ?? ""),
    createBasin,
    stop: stopProc,
    restart: async () => {
      await stopProc();
      await launch();
    },
  };
}
