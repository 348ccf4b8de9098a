// Every example typechecks against the package's declarations: TypeScript
// (npm `typescript`) with each runtime's own types, and `deno check` for
// Deno. tests/js/runtimes.test.mjs runs them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name) => join(root, "node_modules/.bin", name);

function run(file, args) {
  return new Promise((resolve) =>
    execFile(file, args, { cwd: root, env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}

for (const example of ["cloudflare", "bun", "hono", "nextjs", "node-express"]) {
  test(`examples/${example} typechecks (tsc)`, async () => {
    const { code, output } = await run(bin("tsc"), ["-p", `examples/${example}/tsconfig.json`]);
    assert.equal(code, 0, output);
  });
}

test("examples/deno typechecks (deno check)", async () => {
  const { code, output } = await run(bin("deno"), ["check", "examples/deno/main.ts"]);
  assert.equal(code, 0, output);
});
