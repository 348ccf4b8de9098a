// The chat page's stop button and its resume after a reload, in headless
// Chromium: a stop during the head start and during a direct turn ends the
// turn in the page and on the platform (the agent records it: `abort`,
// then its turn-complete); a reload in the middle of a turn shows the turn
// continuing, and a turn resumed after a reload can be stopped too. A
// direct turn that must still be running when the test acts asks the
// scripted model to stall (`[fault:stall]`); the others run on the slow
// model (seconds a turn), and the test acts on what the page shows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { VIEW, assertNoProblems, lastAnswer, openPage, outRecords, screenshot, send, startAll, waitForAnswers, waitForText } from "./page.mjs";

let all;
before(async () => {
  all = await startAll();
});
after(async () => {
  await all?.stop();
});

async function stopAndSettle(page) {
  await page.click("#stop");
  await page.waitForSelector("#send", { timeout: 30_000 });
  await lastAnswer(page).locator(".stopped").waitFor({ timeout: 30_000 });
}

/**
 * Waits until the agent has recorded the stop: the chat's `.out` ends with
 * `abort`, the turn's timeline and its turn-complete.
 */
async function waitForRecordedStop(page) {
  const deadline = Date.now() + 30_000;
  let types;
  while (Date.now() < deadline) {
    types = await outRecords(page, all.worker.url);
    if (types.slice(-3).join() === "abort,message-metadata,control:turn-complete") return types;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the agent did not record the stop: ${types}`);
}

test("stop during the head start, then a direct turn", async () => {
  const context = await all.browser.newContext(VIEW);
  const page = await openPage(context, `${all.worker.url}/`);
  // A head start outlives a reload, not a stop: the page puts its stop on
  // `.in` before it drops the response, the edge finds it there and drops
  // step 1, and the agent records the turn as stopped.
  await send(page, "Tell me a long story");
  await waitForText(page);
  await stopAndSettle(page);
  const shown = await lastAnswer(page).locator(".text").innerText();
  assert.match(shown, /^You/);
  assert.doesNotMatch(shown, /same on every run\.$/, "stopped before the end");
  const types = await waitForRecordedStop(page);
  assert.ok(!types.includes("finish"), `step 1 was cut short at the edge: ${types}`);
  assert.equal(await page.locator("#chat-status").getAttribute("data-status"), "ready");
  await screenshot(page, "chat-stopped-head-start");

  // The chat goes on: the next turn is direct and answers, with nothing of
  // the stopped turn replayed into it.
  assert.equal(await lastAnswer(page).locator(".turn-timeline").getAttribute("data-path"), "head-start");
  await send(page, "hello");
  await waitForAnswers(page, 2);
  assert.match(await lastAnswer(page).innerText(), /^Hello! I am the scripted model/);
  assert.equal(await lastAnswer(page).locator(".turn-timeline").getAttribute("data-path"), "direct");
  assert.equal(await page.locator(".msg.assistant").count(), 2);
  assert.equal(await page.locator(".msg.assistant").first().locator(".text").innerText(), shown, "the stopped answer stays as it was");
  assertNoProblems(page);
  await context.close();
});

test("stop a direct turn, and a turn resumed after a reload", async () => {
  const context = await all.browser.newContext(VIEW);
  const page = await openPage(context, `${all.worker.url}/`);
  await send(page, "hello");
  await waitForAnswers(page, 1);

  await send(page, "Tell me a story [fault:stall]");
  await waitForText(page);
  await stopAndSettle(page);
  await waitForRecordedStop(page);

  // A stalled turn, reloaded: the page resumes it (the partial answer
  // replayed from `.out`), and its stop button stops it.
  // (It stalls half way, after "I answer".)
  await send(page, "Tell me another story [fault:stall]");
  await waitForText(page, /I answer $/);
  await page.reload();
  await page.waitForSelector("#stop", { timeout: 30_000 });
  await waitForText(page, /I answer $/);
  assert.equal(await lastAnswer(page).locator(".text").innerText(), "You said: “Tell me another story”. I am the scripted model: I answer");
  assert.equal(await page.locator(".msg.user").count(), 3);
  await stopAndSettle(page);
  await waitForRecordedStop(page);
  await screenshot(page, "chat-stopped-after-reload");

  // Reloaded again, the stopped turn stays stopped: nothing resumes.
  await page.reload();
  await page.waitForSelector("#send");
  assert.equal(await page.locator(".msg.assistant").count(), 3);
  assert.equal(await page.locator("#chat-status").getAttribute("data-status"), "ready");
  await send(page, "What is 6*7?");
  await waitForAnswers(page, 2);
  assert.match(await lastAnswer(page).innerText(), /6\*7 = 42\./);
  assertNoProblems(page);
  await context.close();
});

test("a reload in the middle of a turn shows it continuing, head start and direct", async () => {
  const context = await all.browser.newContext(VIEW);
  const page = await openPage(context, `${all.worker.url}/`);
  await send(page, "What's the weather in Madrid?");
  await waitForText(page);
  await page.reload();
  await waitForAnswers(page, 1);
  const first = lastAnswer(page);
  assert.match(await first.innerText(), /Let me check the weather in Madrid\.[\s\S]*It is .* in Madrid\./);
  assert.equal(await first.locator(".tool").getAttribute("data-state"), "output-available");
  assert.equal(await first.locator(".turn-timeline").getAttribute("data-path"), "head-start", "the timeline came with the replay");
  assert.equal(await page.locator(".msg.assistant").count(), 1);

  await send(page, "and in Lisbon?");
  await waitForText(page);
  await page.reload();
  await waitForAnswers(page, 2);
  assert.match(await lastAnswer(page).innerText(), /It is .* in Lisbon\./);
  assert.doesNotMatch(await lastAnswer(page).innerText(), /Madrid/, "the resumed turn replays only itself");
  assert.equal(await page.locator(".msg.assistant").count(), 2);
  await screenshot(page, "chat-resumed");
  assertNoProblems(page);
  await context.close();
});
