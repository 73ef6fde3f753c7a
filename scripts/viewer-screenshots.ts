/**
 * The screenshots of docs/viewer.md: `toolalpaca view` over the same files as the browser tests (shared
 * data, and a corpus, export and log made on the spot through the built CLI), one image per view, written
 * to docs/viewer/. Needs Debian's chromium and a build (`npm run build`).
 *
 *   npm run docs:viewer              (every image)
 *   npm run docs:viewer -- NAME…     (only those: list, judgments, trajectory, verification, tree, tokens, compare)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/paths.js';
import {
  ANSWERS,
  JUDGED_7B,
  launchChromium,
  prepareViewerData,
  startViewerProcess,
  writeVerifiedCorpus,
} from '../test/view/viewer-fixture.js';

const OUT = join(repoRoot, 'docs', 'viewer');

async function main(): Promise<void> {
  // `npm run docs:viewer -- NAME…` writes only the images named.
  const only = process.argv.slice(2);
  const browser = await launchChromium();
  if (browser === undefined) throw new Error('chromium is not installed (/usr/bin/chromium)');
  const dir = makeTempDir('toolalpaca-viewer-docs-');
  const data = await prepareViewerData(dir, 12);
  const verified = writeVerifiedCorpus(join(dir, 'verified.json'));
  const viewer = await startViewerProcess([JUDGED_7B, ANSWERS, data.corpus, data.export, verified]);
  mkdirSync(OUT, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
  const url = (query: Record<string, string>): string =>
    `${viewer.url}/?${new URLSearchParams(query).toString()}`;
  const shot = async (name: string): Promise<void> => {
    if (only.length > 0 && !only.includes(name)) return;
    writeFileSync(join(OUT, `${name}.jpg`), await page.screenshot({ type: 'jpeg', quality: 82 }));
    console.log(`docs/viewer/${name}.jpg`);
  };
  try {
    await page.goto(url({ file: JUDGED_7B, process: 'No' }));
    await page.waitForSelector('#file-summary');
    await shot('list');

    await page.goto(url({ file: JUDGED_7B, sort: 'disagreements' }));
    await page.locator('table.items tbody tr:first-child.disagree').waitFor();
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.judgments');
    await shot('judgments');

    await page.goto(url({ file: data.corpus }));
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.trajectory .step');
    await shot('trajectory');

    await page.goto(url({ file: verified, reason: 'empty-thought' }));
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.verification');
    await shot('verification');

    await page.goto(url({ file: ANSWERS, item: 'G2_answer/10', tab: 'tree' }));
    await page.waitForSelector('.tree-view');
    await page.locator('.tree-row.give-up').nth(1).click();
    await shot('tree');

    await page.goto(url({ file: data.export }));
    await page.locator('table.items tbody tr a').first().click();
    await page.waitForSelector('.tokens .tok.trained', { timeout: 60_000 });
    await page
      .locator('.tokens .tok.trained')
      .first()
      .evaluate((e) => e.scrollIntoView({ block: 'center' }));
    await shot('tokens');

    await page.goto(url({ view: 'compare', file: data.corpus, b: JUDGED_7B }));
    await page.waitForSelector('table.pairs tbody tr');
    await page.locator('table.pairs tbody tr a').first().click();
    await page.waitForSelector('.compare-columns .trajectory');
    await shot('compare');
  } finally {
    await browser.close();
    await viewer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
