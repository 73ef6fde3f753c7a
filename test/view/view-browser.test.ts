/**
 * `toolalpaca view` in a real browser (Debian's Chromium through playwright-core), over the shared data
 * (ToolAlpaca's 7-B judged file, ToolBench's DFSDT answers) and files made during the test through the
 * built CLI (a corpus from the fake server, its export with token masks, a generation log that grows while
 * the page is open). Each view is loaded, clicked through and checked, and a screenshot saved. Nothing the
 * page asks for leaves the viewer's own origin. One browser for the file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeTempDir } from '../helpers/paths.js';
import {
  ANSWERS,
  JUDGED_7B,
  launchChromium,
  prepareViewerData,
  startViewerProcess,
  writeKindsCorpus,
  writeVerifiedCorpus,
  type ViewerData,
} from './viewer-fixture.js';

describe('view in Chromium', () => {
  let dir: string;
  let data: ViewerData;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let viewer: Awaited<ReturnType<typeof startViewerProcess>>;
  let verified: string;
  let kinds: string;
  const outside: string[] = [];
  const errors: string[] = [];

  const url = (query: Record<string, string>): string =>
    `${viewer.url}/?${new URLSearchParams(query).toString()}`;
  const shot = async (name: string): Promise<void> => {
    const png = await page.screenshot({ fullPage: false });
    writeFileSync(join(dir, `${name}.png`), png);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  };
  const countText = async (): Promise<string> => (await page.locator('.toolbar .count').textContent()) ?? '';

  before(async () => {
    browser = await launchChromium();
    if (browser === undefined) return;
    dir = makeTempDir('toolalpaca-view-browser-');
    data = await prepareViewerData(dir);
    // ToolEval results over one of the answers (the shape `eval tooleval --json` prints).
    const tooleval = join(dir, 'tooleval.json');
    const run = {
      answerStatus: 'Solved',
      decision: 'Passed',
      label: 'passed',
      reason: 'the answer lists the news',
    };
    const perQuery = [
      {
        queryId: '57',
        answered: true,
        hasFinish: true,
        passed: true,
        passedVotes: 2,
        failedVotes: 0,
        answerStatus: 'Solved',
        runs: [run, run],
      },
    ];
    writeFileSync(
      tooleval,
      JSON.stringify({ judge: 'openai:fake', passRate: { queries: 1, runs: 2, passRate: 1, perQuery } }),
    );
    verified = writeVerifiedCorpus(join(dir, 'verified.json'));
    kinds = writeKindsCorpus(join(dir, 'kinds.json'));
    viewer = await startViewerProcess([
      JUDGED_7B,
      ANSWERS,
      data.corpus,
      data.export,
      data.log,
      tooleval,
      verified,
      data.verified,
      kinds,
    ]);
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(viewer.url)) outside.push(request.url());
    });
    page.on('pageerror', (error) => errors.push(error.message));
  });
  after(async () => {
    await browser?.close();
    await viewer?.stop();
  });

  test('the list: facet filters with counts, search, keyboard navigation, deep links', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: JUDGED_7B }));
    await page.waitForSelector('table.items tbody tr');
    assert.equal(await countText(), '1–50 of 100');
    const process = page.locator('.facet[data-facet="process"]');
    assert.equal(await process.locator('[data-value="No"] .count').textContent(), '35');
    await process.locator('[data-value="No"]').click();
    await page.locator('.toolbar .count', { hasText: /^1–35 of 35 / }).waitFor();
    assert.match(page.url(), /process=No/);
    // Other facets count within the filter.
    const tools = await page.locator('.facet[data-facet="tool"] .count').allTextContents();
    assert.equal(
      tools.reduce((sum, c) => sum + Number(c), 0),
      35,
    );
    await shot('list-filtered');
    // Keyboard: down twice, open, back.
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    const third = await page.locator('table.items tbody tr.selected').getAttribute('data-id');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`.item-view[data-item="${third}"]`);
    assert.match(page.url(), /process=No/, 'the item keeps the list it came from');
    await page.locator('.item-head .position', { hasText: /^3 of 35$/ }).waitFor();
    await page.keyboard.press('j');
    await page.locator('.item-head .position', { hasText: /^4 of 35$/ }).waitFor();
    await page.keyboard.press('Escape');
    await page.waitForSelector('table.items');
    // Search: '/' focuses the search box.
    await page.keyboard.press('/');
    assert.ok(
      await page.locator('input.search').evaluate((input) => input === input.ownerDocument.activeElement),
      '"/" focuses the search box',
    );
    await page.keyboard.type('habitats');
    await page.locator('.toolbar .count', { hasText: /^1–1 of 1/ }).waitFor();
    // A deep link names the file and the item.
    await page.goto(url({ file: JUDGED_7B, item: 'Axolotl#2' }));
    await page.waitForSelector('.trajectory');
    assert.match(
      (await page.locator('.instruction').textContent()) ?? '',
      /three interesting facts about axolotls/,
    );
  });

  test('judgments: GPT-4 beside the checker, disagreements first', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: JUDGED_7B }));
    await page.locator('.tab[data-tab="disagreements"]').click();
    await page.locator('table.items tbody tr:first-child.disagree').waitFor();
    const disagree = Number(
      await page.locator('.facet[data-facet="agreement"] [data-value="disagree"] .count').textContent(),
    );
    const rows = await page
      .locator('table.items tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.classList.contains('disagree')));
    assert.deepEqual(rows.slice(0, disagree + 1), [...Array(disagree).fill(true), false]);
    await page.locator('table.items tbody tr').first().click();
    await page.waitForSelector('.judgments');
    assert.match((await page.locator('.judge.llm h4').textContent()) ?? '', /gpt-4/);
    assert.match((await page.locator('.judge.checker').textContent()) ?? '', /process: (pass|fail)/);
    assert.match((await page.locator('.judgments h3').textContent()) ?? '', /disagree/);
    assert.ok(((await page.locator('.judge.llm .reasoning').textContent()) ?? '').length > 50);
    await shot('judgments');
  });

  test('a trajectory of the generated corpus: steps with sources, the tool documentation, raw JSON', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: data.corpus }));
    await page.waitForSelector('table.items tbody tr');
    assert.equal(await countText(), '1–6 of 6');
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.trajectory .step');
    assert.equal(await page.locator('.step').count(), 2);
    assert.deepEqual(await page.locator('.step .source').allTextContents(), ['simulated', 'simulated']);
    assert.match((await page.locator('.step .thought').first().textContent()) ?? '', /I should call/);
    assert.match((await page.locator('.final .answer').textContent()) ?? '', /Here is what I found/);
    assert.match((await page.locator('.tool-doc pre').textContent()) ?? '', /Parameters:/);
    await shot('trajectory');
    await page.keyboard.press('r');
    await page.waitForSelector('pre.raw');
    assert.match((await page.locator('pre.raw').textContent()) ?? '', /"intermediate_steps"/);
  });

  test('verification output: stage, reason and kind facets; the reasons and the judge beside the trajectory', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: verified }));
    await page.waitForSelector('table.items tbody tr');
    const facet = (name: string) => page.locator(`.facet[data-facet="${name}"]`);
    assert.equal(
      await facet('verification').locator('[data-value="failed: format"] .count').textContent(),
      '1',
    );
    assert.equal(await facet('kind').locator('[data-value="multi-step"] .count').textContent(), '1');
    await facet('reason').locator('[data-value="empty-observation"]').click();
    await page.locator('.toolbar .count', { hasText: /^1–1 of 1/ }).waitFor();
    assert.match(page.url(), /reason=empty-observation/);
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.verification');
    assert.match((await page.locator('.verification h3').textContent()) ?? '', /failed.*stage execution/);
    assert.deepEqual(await page.locator('.verification .reasons li').allTextContents(), [
      'empty-observation: step 2: getGadget returned nothing',
    ]);
    assert.match(
      (await page.locator('.fields').textContent()) ?? '',
      /single \(no kind recorded: by its steps\)/,
    );
    await shot('verification');
    await page.goto(url({ file: verified, verification: 'passed' }));
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.verification');
    assert.match(
      (await page.locator('.verification').textContent()) ?? '',
      /judge openai:judge: Yes \(Yes, Yes, No, 67 % agree\)/,
    );
    assert.match((await page.locator('.fields').textContent()) ?? '', /parallel/);
    // The generated corpus as `verify` wrote it: the facet counts are verify's own.
    await page.goto(url({ file: data.verified }));
    await facet('verification').locator('[data-value]').first().waitFor();
    const counts = Object.fromEntries(
      await facet('verification')
        .locator('[data-value]')
        .evaluateAll((links) =>
          links.map((a) => [a.getAttribute('data-value'), Number(a.querySelector('.count')?.textContent)]),
        ),
    ) as Record<string, number>;
    const expected: Record<string, number> = {};
    if (data.verifySummary.passed > 0) expected.passed = data.verifySummary.passed;
    for (const [stage, n] of Object.entries(data.verifySummary.byStage))
      if (n > 0) expected[`failed: ${stage}`] = n;
    assert.deepEqual(counts, expected);
  });

  test('instance kinds: a multi-turn instance’s follow-up turn, a missing-info instance’s argument', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: kinds, kind: 'multi-turn' }));
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.trajectory.follow-up');
    assert.match(
      (await page.locator('.follow-up .instruction').textContent()) ?? '',
      /Turn 2.*And gizmo 2\?/s,
    );
    assert.match((await page.locator('.follow-up .final .answer').textContent()) ?? '', /Gizmo 2 is blue/);
    await page.goto(url({ file: kinds, kind: 'missing-info' }));
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.instruction .missing');
    assert.match(
      (await page.locator('.instruction .missing').textContent()) ?? '',
      /left out of the request: id \(getGizmo\); the user gives 7 when asked/,
    );
  });

  test('a DFSDT tree: chosen path, give-ups, calls spent; a node shows its step', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: ANSWERS, item: 'G1_answer/57', tab: 'tree' }));
    await page.waitForSelector('.tree-view');
    const stats = (await page.locator('.tree-stats').textContent()) ?? '';
    assert.match(stats, /26 nodes/);
    assert.match(stats, /12 model calls/);
    assert.match(stats, /1 give-ups/);
    const steps = await page.locator('.tree-row').count();
    assert.equal(await page.locator('circle.node').count(), steps);
    assert.ok((await page.locator('path.edge.chosen').count()) > 0);
    await page.locator('.tree-row.give-up').first().click();
    await page.locator('.tree-node', { hasText: 'give up' }).waitFor();
    await shot('tree');
    const chosen = await page.locator('.tree-row.chosen').count();
    // The chosen path as a trajectory, with ToolEval's label from the open results file.
    await page.locator('.tab[data-tab="trajectory"]').click();
    await page.waitForSelector('.judge.tooleval');
    assert.match((await page.locator('.judge.tooleval').textContent()) ?? '', /pass: passed.*2 passed/s);
    assert.equal(
      await page.locator('.trajectory .step').count(),
      chosen - 1,
      'the chosen calls, then Finish',
    );
  });

  test('an export: trained tokens highlighted from the labels', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: data.export }));
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.tokens .tok', { timeout: 60_000 });
    const trained = Number(await page.locator('.tokens-stats [data-trained]').getAttribute('data-trained'));
    assert.ok(trained > 0);
    assert.equal(
      await page.locator('.tokens .tok.trained').count(),
      trained,
      'one highlighted span per trained token',
    );
    const text = (await page.locator('.tokens .tok.trained').allTextContents()).join('');
    assert.match(text, /Final Answer/, 'the assistant text is what is trained');
    assert.doesNotMatch(text, /You have access to the following tools/, 'the prompt is not');
    await page.locator('.tokens .tok.trained').first().scrollIntoViewIfNeeded();
    await shot('tokens');
    await page.locator('.tab[data-tab="conversation"]').click();
    assert.ok((await page.locator('.turn.trained').count()) > 0);
  });

  test('two runs side by side', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ view: 'compare', file: data.corpus, b: JUDGED_7B }));
    await page.waitForSelector('table.pairs tbody tr');
    const counts = (await page.locator('.compare-counts').textContent()) ?? '';
    const both = Number(/in both: (\d+)/.exec(counts)?.[1]);
    const onlyFirst = Number(/only in the first: (\d+)/.exec(counts)?.[1]);
    // Every generated instruction is one of the evaluation set's; the 7-B file names all but unjudged ones.
    assert.equal(both + onlyFirst, 6);
    assert.ok(both >= 5, counts);
    await page.locator('table.pairs tbody tr a').first().click();
    // Each side is fetched on its own: wait for both.
    await page.locator('.compare-columns .compare-side .trajectory').nth(1).waitFor();
    assert.equal(await page.locator('.compare-side .trajectory').count(), 2);
    await shot('compare');
  });

  test('a live generation log: instances appear as they are written', async (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    await page.goto(url({ file: data.log }));
    await page.waitForSelector('table.items tbody tr');
    assert.equal(await countText(), '1–1 of 1');
    assert.equal(await page.locator('.file-meta .live').count(), 1);
    for (const line of data.rest) appendFileSync(data.log, line);
    const total = data.rest.length + 1;
    await page
      .locator('table.items tbody tr')
      .nth(total - 1)
      .waitFor();
    assert.equal(await countText(), `1–${total} of ${total}`);
  });

  test('nothing was fetched from outside the viewer, and the page had no error', (t) => {
    if (browser === undefined) return t.skip('chromium not installed');
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
  });
});
