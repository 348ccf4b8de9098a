// What `npm publish` of pkg/ and `cargo publish` would ship: the license
// both manifests declare, with its texts in each package, and no link to a
// repository that does not exist.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf8");
const cargo = read("Cargo.toml");
const pkg = JSON.parse(read("pkg/package.json"));

test("Cargo.toml and pkg/package.json declare one license, and both packages carry its texts", () => {
  const license = cargo.match(/^license = "(.+)"$/m)[1];
  assert.equal(license, "MIT OR Apache-2.0");
  assert.equal(pkg.license, license);
  for (const file of ["LICENSE-MIT", "LICENSE-APACHE"]) {
    assert.equal(read(`pkg/${file}`), read(file), `pkg/${file} is the root ${file}`);
  }
  assert.match(read("LICENSE-MIT"), /^MIT License\n\nCopyright \(c\) \d{4} the headstart authors\n/);
  assert.match(read("LICENSE-APACHE"), /Apache License\s+Version 2\.0, January 2004/);

  const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: new URL("pkg/", root), encoding: "utf8" }));
  const files = packed[0].files.map((f) => f.path);
  for (const file of ["LICENSE-MIT", "LICENSE-APACHE", "package.json", "README.md", "index.js"]) {
    assert.ok(files.includes(file), `npm pack ships ${file} (got ${files.join(", ")})`);
  }
});

test("no manifest links a repository, homepage or issue tracker (there is none published)", () => {
  assert.doesNotMatch(cargo, /^(repository|homepage|documentation) =/m);
  for (const field of ["repository", "homepage", "bugs"]) assert.equal(pkg[field], undefined, field);
});
