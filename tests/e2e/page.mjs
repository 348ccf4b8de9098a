// Shared pieces of the chat page's browser tests: the worker under
// `wrangler dev` on a slow scripted model (so a test acts in the middle of
// a turn by waiting for what the page shows, never for a time), Debian's
// headless Chromium, and pages that collect every console error.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startWrangler } from "./wrangler.mjs";

export const artifacts = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A model slow enough that a turn lasts seconds: 300 ms to the first byte, 120 ms a token. */
export const SLOW = { HEADSTART_SCRIPTED_TTFB_MS: "300", HEADSTART_SCRIPTED_TOKEN_MS: "120" };

/** Tall enough that a full-page screenshot does not catch the sticky form mid-page. */
export const VIEW = { viewport: { width: 1100, height: 1500 } };

export async function startAll(vars = SLOW) {
  mkdirSync(artifacts, { recursive: true });
  const worker = await startWrangler({ vars });
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  return {
    worker,
    browser,
    stop: async () => {
      await browser.close();
      await worker.stop();
    },
  };
}

/**
 * A page that records console errors, page errors and failed responses
 * (`allowAborted`: requests the test aborts on purpose, a stop or a reload,
 * are not errors).
 */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e}`));
  page.on("response", (r) => {
    if (r.status() >= 400) page.problems.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(url);
  await page.waitForSelector("#input");
  return page;
}

export async function send(page, text) {
  await page.fill("#input", text);
  await page.click("#send");
}

/** Waits until the page has `n` answers with their timelines, the last message among them (turns done). */
export async function waitForAnswers(page, n) {
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll(".msg.assistant .turn-timeline").length >= n &&
      document.querySelector("#log > .msg:last-of-type")?.matches(".assistant") &&
      document.querySelector("#log > .msg:last-of-type .turn-timeline") !== null,
    n,
    { timeout: 30_000 },
  );
  await page.waitForSelector("#send", { timeout: 30_000 });
}

/** Waits until the answer to the last message shows streamed text (matching `pattern`, if given). */
export async function waitForText(page, pattern = /./) {
  await page.waitForFunction((source) => {
    const last = document.querySelector("#log > .msg:last-of-type");
    return last?.classList.contains("assistant") && new RegExp(source).test(last.querySelector(".text")?.textContent ?? "");
  }, pattern.source, { timeout: 30_000 });
}

export const lastAnswer = (page) => page.locator(".msg.assistant").last();
export const chatIdOf = (page) => page.evaluate(() => location.hash.slice(1));

/** The chat's `.out` as the platform holds it: chunk types and control records. */
export async function outRecords(page, workerUrl) {
  const chatId = await chatIdOf(page);
  const session = await page.evaluate((id) => JSON.parse(localStorage.getItem(`headstart:session:${id}`)), chatId);
  assert.ok(session?.publicAccessToken, "the page kept the chat's session");
  const res = await fetch(`${workerUrl}/realtime/v1/sessions/${encodeURIComponent(chatId)}/out/records`, {
    headers: { authorization: `Bearer ${session.publicAccessToken}` },
  });
  assert.equal(res.status, 200);
  const { records } = await res.json();
  return records.map((r) => {
    const control = (r.headers ?? []).find(([k]) => k === "trigger-control");
    if (control) return `control:${control[1]}`;
    try {
      const data = typeof r.data === "string" ? JSON.parse(r.data) : r.data;
      return data?.type ?? "?";
    } catch {
      return "?";
    }
  });
}

export async function screenshot(page, name) {
  // Down to the end of the content, not of the tall viewport.
  const bottom = await page.evaluate(() => Math.max(...[...document.querySelectorAll("main.chat > *, body > :not(#root):not(script)")].map((e) => e.getBoundingClientRect().bottom)));
  await page.screenshot({ path: join(artifacts, `${name}.png`), clip: { x: 0, y: 0, width: VIEW.viewport.width, height: Math.ceil(bottom) + 16 } });
}

export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], "no console errors, page errors or failed requests");
}
