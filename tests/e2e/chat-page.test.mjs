// The chat page in headless Chromium (Debian's): a first message takes the
// head start, a second goes direct; both stream into the page with their
// timing figures.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startWrangler } from "./wrangler.mjs";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let worker;
let browser;

before(async () => {
  worker = await startWrangler({ vars: { HEADSTART_SCRIPTED_TTFB_MS: "50", HEADSTART_SCRIPTED_TOKEN_MS: "10" } });
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  await worker?.stop();
});

test("two turns in the page: head start, then direct", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${worker.url}/`);
  await page.fill("#input", "What's the weather in Paris?");
  await page.click("#send");
  await page.waitForSelector(".timing", { timeout: 20_000 });
  const first = await page.locator(".msg.assistant").first().innerText();
  assert.match(first, /get_weather\(\{"city":"Paris"\}\) → \{"city":"Paris"/);
  assert.match(first, /It is .* in Paris\./);
  assert.match(await page.locator(".timing").first().innerText(), /^head start: first text \d+ ms, turn \d+ ms$/);

  await page.fill("#input", "hello");
  await page.click("#send");
  await page.waitForFunction(() => document.querySelectorAll(".timing").length === 2, null, { timeout: 20_000 });
  assert.match(await page.locator(".msg.assistant").nth(1).innerText(), /^Hello! I am the scripted model/);
  assert.match(await page.locator(".timing").nth(1).innerText(), /^direct: first text \d+ ms/);
  assert.deepEqual(errors, []);
});
