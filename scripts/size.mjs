// Prints raw and gzip sizes of build artefacts, and records them in
// build/sizes.json for the benchmark and the README.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";

const [label, ...files] = process.argv.slice(2);
const rows = files.filter(existsSync).map((f) => {
  const bytes = readFileSync(f);
  return { file: f, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
for (const r of rows) {
  console.error(`[size] ${label}: ${r.file} ${r.raw.toLocaleString("en")} B raw, ${r.gzip.toLocaleString("en")} B gzip`);
}
mkdirSync("build", { recursive: true });
const out = "build/sizes.json";
const all = existsSync(out) ? JSON.parse(readFileSync(out, "utf8")) : {};
all[label] = rows;
writeFileSync(out, JSON.stringify(all, null, 2) + "\n");
