// Bundles the TypeScript anchor (bench/anchor/worker.ts) as a user would
// for Workers: esbuild, browser platform with the workerd conditions,
// `node:*` left to nodejs_compat, minified. Used by the benchmark and by
// the anchor's conformance test.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const ANCHOR_BUNDLE = join(root, "build/anchor/worker.mjs");

export async function buildAnchor() {
  await esbuild.build({
    entryPoints: [join(root, "bench/anchor/worker.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker"],
    external: ["node:*"],
    minify: true,
    outfile: ANCHOR_BUNDLE,
    logLevel: "silent",
  });
  return ANCHOR_BUNDLE;
}
