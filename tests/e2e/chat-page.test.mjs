// The chat page in headless Chromium (Debian's), on useChat and the real
// TriggerChatTransport: a first message takes the head start, a follow-up
// goes direct (and the scripted model follows the conversation), each
// answer gets its timeline; a reload after the turns shows the history and
// the chat list; two tabs on one chat stay consistent; the status page
// draws the recent turns. No console errors anywhere (the favicon is
// served). Screenshots go to test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { VIEW, SLOW, artifacts, assertNoProblems, chatIdOf, lastAnswer, openPage, screenshot, send, startAll, waitForAnswers, waitForText } from "./page.mjs";

let all;
before(async () => {
  // The agent's boot as a container's would take (the benchmark's knob):
  // the timeline shows it overlapping step 1.
  all = await startAll({ ...SLOW, HEADSTART_AGENT_BOOT_DELAY_MS: "600" });
});
after(async () => {
  await all?.stop();
});

test("a head start, then a direct follow-up, each with its timeline", async () => {
  const context = await all.browser.newContext(VIEW);
  const page = await openPage(context, `${all.worker.url}/`);
  const favicon = await context.request.get(`${all.worker.url}/favicon.svg`);
  assert.equal(favicon.status(), 200);
  assert.match(favicon.headers()["content-type"], /svg/);

  await send(page, "What's the weather in Paris?");
  await waitForAnswers(page, 1);
  const first = lastAnswer(page);
  assert.equal(await first.locator('.tool[data-tool="get_weather"]').getAttribute("data-state"), "output-available");
  assert.match(await first.locator(".tool code").innerText(), /get_weather\(\{"city":"Paris"\}\) → \{"city":"Paris"/);
  assert.match(await first.innerText(), /Let me check the weather in Paris\.[\s\S]*It is .* in Paris\./);
  const timeline = first.locator(".turn-timeline");
  assert.equal(await timeline.getAttribute("data-path"), "head-start");
  const marks = await timeline.locator("[data-mark]").evaluateAll((els) => els.map((e) => e.getAttribute("data-mark")));
  for (const m of ["session created", "model first byte", "step 1 end", "handover", "agent first chunk", "turn complete", "first chunk", "complete"]) {
    assert.ok(marks.includes(m), `the timeline marks ${m}: ${marks}`);
  }
  const bars = await timeline.locator("rect[data-label]").evaluateAll((els) => els.map((e) => e.getAttribute("data-label")));
  for (const b of ["session create", "step 1", "boot", "after handover", "turn"]) assert.ok(bars.includes(b), `bar ${b}: ${bars}`);
  assert.match(await timeline.locator("figcaption").innerText(), /^head start: first chunk at the browser \d+ ms, turn \d+ ms · Server-Timing: session create \d+ ms/);

  await send(page, "and in London?");
  await waitForAnswers(page, 2);
  const second = lastAnswer(page);
  assert.match(await second.locator(".tool code").innerText(), /get_weather\(\{"city":"London"\}\) → \{"city":"London"/);
  assert.match(await second.innerText(), /It is .* in London\./);
  const direct = second.locator(".turn-timeline");
  assert.equal(await direct.getAttribute("data-path"), "direct");
  assert.match(await direct.locator("figcaption").innerText(), /^direct: first chunk at the browser \d+ ms, turn \d+ ms$/);
  assert.ok((await direct.locator('[data-mark="agent first chunk"]').count()) === 1);
  await screenshot(page, "chat-page");
  // The README shows this one (UPDATE_SCREENSHOTS=1 refreshes it).
  if (process.env.UPDATE_SCREENSHOTS === "1") {
    copyFileSync(join(artifacts, "chat-page.png"), fileURLToPath(new URL("../../docs/chat-page.png", import.meta.url)));
  }

  // A reload after the turns: the history, the timelines and the chat list.
  const id = await chatIdOf(page);
  await page.reload();
  await waitForAnswers(page, 2);
  assert.equal(await page.locator(".msg.user").count(), 2);
  assert.match(await lastAnswer(page).innerText(), /in London\./);
  assert.equal(await page.locator(".msg.assistant .turn-timeline").first().getAttribute("data-path"), "head-start");
  assert.equal(await page.locator("nav.chats li").count(), 1);
  assert.equal(await page.locator("nav.chats li.current a").getAttribute("href"), `#${id}`);
  assert.match(await page.locator("nav.chats li.current").innerText(), /What's the weather in Paris\?/);
  assert.equal(await page.locator("#chat-status").getAttribute("data-status"), "ready");

  // A second chat from the list; the first is one click away.
  await page.click("#new-chat");
  await page.waitForFunction((id) => location.hash.slice(1) !== id && document.querySelectorAll(".msg").length === 0, id);
  await send(page, "hello");
  await waitForAnswers(page, 1);
  assert.match(await lastAnswer(page).innerText(), /^Hello! I am the scripted model/);
  assert.equal(await lastAnswer(page).locator(".turn-timeline").getAttribute("data-path"), "head-start");
  assert.equal(await page.locator("nav.chats li").count(), 2);
  await page.click(`nav.chats a[href="#${id}"]`);
  await waitForAnswers(page, 2);
  assert.match(await lastAnswer(page).innerText(), /in London\./);
  assertNoProblems(page);
  await context.close();
});

test("two tabs on one chat stay consistent", async () => {
  const context = await all.browser.newContext(VIEW);
  const a = await openPage(context, `${all.worker.url}/`);
  const id = await chatIdOf(a);
  const b = await openPage(context, `${all.worker.url}/#${id}`);
  await send(a, "What's the weather in Rome?");
  await waitForText(a);
  // The second tab follows the session without writing over it: a reload
  // of the first one now would still resume its turn.
  const persisted = await a.evaluate((id) => JSON.parse(localStorage.getItem(`headstart:session:${id}`)), id);
  assert.equal(persisted.isStreaming, true);
  await waitForAnswers(a, 1);
  // The other tab shows the same turn, from what the first one kept.
  await b.waitForFunction(() => /in Rome\./.test(document.querySelector(".msg.assistant:last-of-type")?.innerText ?? ""), null, { timeout: 30_000 });
  // ... and continues the chat where the first one left off: its follow-up
  // goes direct on the same session, with no replay of the first turn.
  await send(b, "and in Oslo?");
  await waitForAnswers(b, 2);
  assert.match(await lastAnswer(b).innerText(), /in Oslo\./);
  assert.doesNotMatch(await lastAnswer(b).innerText(), /Rome/);
  assert.equal(await lastAnswer(b).locator(".turn-timeline").getAttribute("data-path"), "direct");
  await a.waitForFunction(() => document.querySelectorAll(".msg.assistant").length === 2 && /in Oslo\./.test(document.querySelectorAll(".msg.assistant")[1].innerText), null, { timeout: 30_000 });
  const ids = async (p) => p.locator(".msg").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")));
  assert.deepEqual(await ids(a), await ids(b));
  assert.equal(await a.locator(".msg.user").count(), 2);
  await screenshot(b, "chat-two-tabs");
  assertNoProblems(a);
  assertNoProblems(b);
  await context.close();
});

test("the status page draws the recent head-start turns", async () => {
  const context = await all.browser.newContext(VIEW);
  const page = await openPage(context, `${all.worker.url}/`);
  await page.goto(`${all.worker.url}/status`);
  await page.waitForSelector("#recent-turns figure svg.timeline");
  const first = page.locator("#recent-turns figure").first();
  assert.match(await first.locator("figcaption").innerText(), /^handover: session created \d+ ms, model first byte \d+ ms, step 1 end \d+ ms, handover \d+ ms, turn complete \d+ ms$/);
  const marks = await first.locator("[data-mark]").evaluateAll((els) => els.map((e) => e.getAttribute("data-mark")));
  for (const m of ["session created", "model first byte", "handover", "turn complete"]) assert.ok(marks.includes(m), `${m}: ${marks}`);
  assert.ok((await first.locator('rect[data-label="boot"]').count()) === 1, "the agent's boot, from the timeline the page asked for");
  assert.doesNotMatch(await page.content(), /chat_[0-9a-f-]{36}/, "no chat ids on a public page");
  await screenshot(page, "status-page");
  assertNoProblems(page);
  await context.close();
});

test("a model error mid-answer shows in the page, and the chat goes on", async () => {
  const context = await all.browser.newContext(VIEW);
  const page = await openPage(context, `${all.worker.url}/`);
  await send(page, "Tell me a story [fault:error]");
  await page.waitForSelector(".msg.error", { timeout: 30_000 });
  // The stream's error chunk, masked as the AI SDK masks errors by default.
  assert.equal(await page.locator(".msg.error").innerText(), "An error occurred.");
  assert.equal(await page.locator("#chat-status").getAttribute("data-status"), "error");
  assert.match(await lastAnswer(page).locator(".text").innerText(), /^You said/, "the text before the error stays");
  await screenshot(page, "chat-error");
  await send(page, "hello");
  await waitForAnswers(page, 2);
  assert.match(await lastAnswer(page).innerText(), /^Hello! I am the scripted model/);
  assert.equal(await page.locator(".msg.error").count(), 0);
  assertNoProblems(page);
  await context.close();
});
