import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, sharedData } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { writeFileAtomic } from '../../src/core/atomic-write.js';
import { InputError } from '../../src/core/errors.js';
import type { JudgedFile, RunFile, RunItem } from '../../src/core/run.js';
import { judgeRun } from '../../src/eval/judge/judge-run.js';
import { checkProcess } from '../../src/eval/deterministic/checker.js';
import {
  buildReport,
  readReportSource,
  renderReport,
  reportFormatOf,
  writeReport,
} from '../../src/eval/report/index.js';
import { CSV_COLUMNS } from '../../src/eval/report/csv.js';
import { barChartSvg } from '../../src/eval/report/svg.js';
import { evalWorld, plainAction } from './eval-world.js';

const SIMULATED = sharedData('toolalpaca/eval_simulated.json');
const JUDGED_7B = sharedData('toolalpaca/judged_ToolAlpaca-7B_simulated.json');
const CHROMIUM = '/usr/bin/chromium';

/** A run whose assistant replayed the golden answers (every 4th instruction without its last step). */
async function replayRun(model: string): Promise<RunFile> {
  const records = await readToolAlpacaFile(SIMULATED);
  const items: RunItem[] = [];
  let n = 0;
  for (const record of records) {
    (record.Instructions ?? []).forEach((instruction, index) => {
      let golden = record.Golden_Answers?.[index] ?? [];
      if (n++ % 4 === 0) golden = golden.slice(0, -1);
      items.push({
        tool: record.Name,
        index,
        instruction,
        goldenAnswers: record.Golden_Answers?.[index] ?? [],
        nlDocumentation: record.NLDocumentation ?? '',
        status: 'completed',
        steps: golden.map((g) => ({
          action: plainAction(g.Action),
          actionInput: g.Action_Input.replace('[Optional]', ''),
          observation: 'Status Code: 200. Response: {"ok": true}',
        })),
        finalAnswer: 'Here you are, "quoted", with a comma.',
        usage: { promptTokens: 100, completionTokens: 20, calls: 2 },
      });
    });
  }
  return {
    kind: 'toolalpaca-run',
    version: 1,
    meta: {
      model,
      prompt: 'test_v1',
      mode: 'react',
      executor: 'schema',
      seed: 1,
      createdAt: '2024-01-01T00:00:00.000Z',
      toolalpacaVersion: '0.0.0-test',
      tokens: { prompt: items.length * 100, completion: items.length * 20 },
      costUsd: 0.0123,
    },
    items,
  };
}

/** Parses RFC 4180 CSV (quoted fields with doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

describe('reports', () => {
  let server: FakeOpenAI;
  let model: CreatedChatModel;
  let dir: string;
  let files: string[];
  let llmJudged: JudgedFile;

  before(async () => {
    server = await startFakeOpenAI();
    server.setDefault(evalWorld({ golden: new Map() }));
    model = await createChatModel('openai:fake-model', {
      openai: { baseUrl: server.baseUrl },
      noCache: true,
    });
    dir = makeTempDir();
    const runA = await replayRun('openai:model-a');
    const runB = await replayRun('openai:model-b');
    runB.items = runB.items.map((item, i) =>
      i % 5 === 0
        ? { ...item, steps: [], status: 'failed', failure: { reason: 'parse_error', message: 'x' } }
        : item,
    );
    llmJudged = await judgeRun(runA, { judge: model, concurrency: 8 });
    const detJudged = await judgeRun(runB, { judge: 'deterministic' });
    files = [join(dir, 'a.judged.json'), join(dir, 'b.judged.json'), join(dir, 'b.run.json')];
    await writeFileAtomic(files[0] as string, JSON.stringify(llmJudged));
    await writeFileAtomic(files[1] as string, JSON.stringify(detJudged));
    await writeFileAtomic(files[2] as string, JSON.stringify(runB));
  });
  after(async () => {
    await model.close();
    await server.close();
  });

  test('report model: per tool and overall figures agree with the judged statistics and the checker', async () => {
    const sources = await Promise.all(files.map(readReportSource));
    const report = buildReport(sources);
    assert.equal(report.entries.length, 3);
    assert.equal(report.tools.length, 10);
    const [a, b, run] = report.entries;
    assert.ok(a !== undefined && b !== undefined && run !== undefined);
    assert.deepEqual(a.overall.statistics, llmJudged.statistics);
    // Per-tool counts add up to the overall ones.
    assert.equal(
      a.tools.reduce((sum, t) => sum + (t.statistics?.process.Yes ?? 0), 0),
      llmJudged.statistics.process.Yes,
    );
    const passes = llmJudged.items.filter((i) => i.steps.length > 0 && checkProcess(i).correct).length;
    assert.equal(a.overall.deterministicPass, Math.round((passes / 100) * 10000) / 100);
    assert.equal(run.judge, undefined);
    assert.equal(run.overall.statistics, undefined);
    assert.equal(run.overall.failed, 20);
    assert.equal(b.overall.deterministicPass, run.overall.deterministicPass);
    assert.equal(a.overall.promptTokens, 100 * 100);
    assert.notEqual(a.label, b.label);
  });

  test('HTML: one self-contained file with the comparison and per-tool SVG charts and tables', async () => {
    const out = join(dir, 'report.html');
    const { format } = await writeReport(files, out);
    assert.equal(format, 'html');
    const html = readFileSync(out, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /<script|<link|src=|url\(|@import/i, 'no script or external asset');
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no external URL');
    assert.equal((html.match(/<svg /g) ?? []).length, 4, 'comparison + one per input');
    assert.match(html, /id="model-comparison"/);
    assert.match(html, /openai:model-a/);
    for (const tool of buildReport([await readReportSource(files[0] as string)]).tools) {
      assert.ok(html.includes(tool), tool);
    }
    assert.match(html, /procedure/);
  });

  test('Markdown: comparison table and per-tool tables', async () => {
    const out = join(dir, 'report.md');
    await writeReport(files, out);
    const md = readFileSync(out, 'utf8');
    assert.match(md, /^# toolalpaca evaluation report/);
    assert.equal((md.match(/^## /gm) ?? []).length, 4);
    const p = llmJudged.statistics.percentages;
    assert.ok(md.includes(`${p.procedure.toFixed(1)}%`));
    assert.ok(md.includes('| **overall** |'));
  });

  test('CSV for human evaluation: one row per trajectory, quoting round-trips', async () => {
    const out = join(dir, 'trajectories.csv');
    const { format } = await writeReport(files.slice(0, 1), out);
    assert.equal(format, 'csv');
    const rows = parseCsv(readFileSync(out, 'utf8'));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length, 101);
    const header = rows[0] as string[];
    const col = (name: string): number => header.indexOf(name);
    const first = rows[1] as string[];
    assert.equal(first.length, CSV_COLUMNS.length);
    assert.equal(first[col('final_answer')], 'Here you are, "quoted", with a comma.');
    assert.equal(first[col('instruction')], llmJudged.items[0]?.instruction);
    assert.match(first[col('solution')] ?? '', /^1\. Function: |^1\. Final Response/);
    assert.equal(first[col('judge_process')], llmJudged.items[0]?.majority?.process ?? 'error');
    assert.equal(first[col('human_process')], '');
  });

  test('format from flag or extension; unknown inputs and formats are one-line errors', async () => {
    assert.equal(reportFormatOf(undefined, 'x.md'), 'md');
    assert.equal(reportFormatOf(undefined, 'x.CSV'), 'csv');
    assert.equal(reportFormatOf('md', 'x.html'), 'md');
    assert.throws(() => reportFormatOf('pdf', 'x'), InputError);
    await assert.rejects(
      readReportSource(SIMULATED),
      (e: unknown) => e instanceof InputError && /not a run or judged file/.test(e.message),
    );
    assert.match(renderReport([], 'md'), /0 input/);
  });

  test('labels tell apart runs of the same model and executor, and the comparison chart shows them whole', async () => {
    const base = await readReportSource(files[2] as string);
    const withMeta = (meta: Partial<RunFile['meta']>, path: string) => ({
      ...base,
      path,
      run: {
        ...base.run,
        model: 'openai:fake',
        executor: 'simulated',
        executorModel: 'openai:fake',
        ...meta,
      },
    });
    const sources = [
      withMeta({ prompt: 'test_v1', seed: 1 }, 'runs/a.json'),
      withMeta({ prompt: 'train_v2', seed: 1 }, 'runs/b.json'),
      withMeta({ prompt: 'test_v1', seed: 2 }, 'runs/c.json'),
      withMeta({ prompt: 'test_v1', seed: 2 }, 'other/c.json'),
    ];
    const labels = buildReport(sources).entries.map((e) => e.label);
    assert.equal(new Set(labels).size, 4, labels.join(' | '));
    assert.ok(labels.every((l) => l.startsWith('openai:fake')));
    assert.match(labels[1] as string, /train_v2/);
    assert.match(labels[2] as string, /seed 2/);
    const html = renderReport(sources, 'html');
    const chart = /<svg [^>]*id="model-comparison"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    for (const label of labels) {
      const shown = [...chart.matchAll(/<text class="category"[^>]*>([\s\S]*?)<title>/g)]
        .map((m) => [...(m[1] ?? '').matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((t) => t[1]).join(' '))
        .map((t) => t.replace(/&amp;/g, '&'));
      assert.ok(shown.includes(label), `"${label}" shown whole in ${JSON.stringify(shown)}`);
    }
    assert.doesNotMatch(chart, /…/, 'no label cut');
  });

  test('the deterministic judge: response and overall are "not judged", never 0.0 %', async () => {
    const det = await readReportSource(files[1] as string);
    const report = buildReport([det]);
    const entry = report.entries[0];
    assert.ok(entry !== undefined);
    assert.equal(entry.overall.responseJudged, false);
    const html = renderReport([det], 'html');
    const overallRow =
      /<tr class="overall">[\s\S]*?<\/tr>/.exec(
        html.slice(html.indexOf('<h2>', html.indexOf('<h2>') + 1)),
      )?.[0] ?? '';
    assert.match(overallRow, /not judged/);
    assert.doesNotMatch(overallRow, /<td>0\.0%<\/td><td>0\.0%<\/td>/);
    const perTool = /<svg [^>]*id="per-tool-0"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    assert.doesNotMatch(perTool, /· response:|· overall:/, 'no response or overall bars');
    assert.match(perTool, /· procedure:/);
    const md = renderReport([det], 'md');
    assert.match(md, /\| \*\*overall\*\* \| 100 \| [\d.]+% \| not judged \| not judged \|/);
    const csv = renderReport([det], 'csv');
    assert.match(csv.split('\r\n')[1] ?? '', /,not judged,/);
    // An LLM judge's response is judged as before.
    const llm = buildReport([await readReportSource(files[0] as string)]).entries[0];
    assert.equal(llm?.overall.responseJudged, true);
  });

  test('ToolAlpaca’s published judged file is read directly (no import step): its statistics, GPT-4 as judge', async () => {
    const out = join(dir, 'published.md');
    const result = await runCli(['report', JUDGED_7B, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /wrote .*published\.md \(md, 1 input\(s\), 100 items\)/);
    const md = readFileSync(out, 'utf8');
    assert.match(md, /judged_ToolAlpaca-7B_simulated/);
    assert.match(md, /gpt-4-0613/);
    // The published statistics: process 63, response 68, both 60 of 100.
    assert.match(md, /63\.0\s*%/);
    assert.match(md, /68\.0\s*%/);
    assert.match(md, /60\.0\s*%/);
    assert.doesNotMatch(md + result.stderr, /eval import/);
    // A file that is neither: one line naming it, exit 2, nothing written.
    const bad = await runCli(['report', SIMULATED, '--out', join(dir, 'none.md')]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /eval_simulated\.json: not a run or judged file/);
    assert.doesNotMatch(bad.stderr, /eval import/);
    assert.equal(existsSync(join(dir, 'none.md')), false);
  });

  test('--view-url: every figure links to the matching filtered list in the viewer; a bad URL is one line, exit 2', async () => {
    const out = join(dir, 'linked.html');
    const viewUrl = 'http://127.0.0.1:8100';
    const result = await runCli(['report', ...files, '--out', out, '--view-url', `${viewUrl}/`]);
    assert.equal(result.code, 0, result.stderr);
    const html = readFileSync(out, 'utf8');
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => (m[1] ?? '').replace(/&amp;/g, '&'));
    const params = hrefs.filter((h) => h.startsWith(`${viewUrl}/?`)).map((h) => new URL(h).searchParams);
    const first = buildReport([await readReportSource(files[0] as string)]).entries[0];
    const tool = first?.tools[0]?.name as string;
    const has = (file: string, pairs: [string, string][]): boolean =>
      params.some(
        (p) =>
          p.get('file') === file &&
          pairs.every(([k, v]) => p.getAll(k).includes(v)) &&
          p.getAll('tool').length === (pairs.some(([k]) => k === 'tool') ? 1 : 0),
      );
    assert.ok(
      has(files[0] as string, [
        ['tool', tool],
        ['process', 'Yes'],
      ]),
      'per-tool procedure of the LLM-judged run',
    );
    assert.ok(
      has(files[0] as string, [
        ['tool', tool],
        ['response', 'Yes'],
      ]),
    );
    assert.ok(
      has(files[0] as string, [
        ['process', 'Yes'],
        ['response', 'Yes'],
      ]),
      'overall of the run',
    );
    assert.ok(
      has(files[1] as string, [
        ['tool', tool],
        ['checker', 'pass'],
      ]),
      'the checker as judge lists checker passes',
    );
    assert.ok(has(files[2] as string, [['status', 'failed']]), 'failed items of the unjudged run');
    assert.ok(/<a href="[^"]+"><rect class="bar"/.test(html), 'bars are links');
    const bad = await runCli([
      'report',
      files[0] as string,
      '--out',
      join(dir, 'x.html'),
      '--view-url',
      'ftp://x',
    ]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /--view-url/);
  });

  test('bar chart SVG escapes names and scales bars', () => {
    const svg = barChartSvg({
      title: 'a <b> & "c"',
      categories: ['x<y'],
      series: [{ name: 's', color: '#000', values: [50] }],
    });
    assert.match(svg, /a &lt;b&gt; &amp; &quot;c&quot;/);
    assert.doesNotMatch(svg, /x<y/);
    const bar = /<rect class="bar" [^>]*height="([\d.]+)"/.exec(svg);
    assert.equal(Number(bar?.[1]), 100, 'half of the 200-pixel plot');
  });

  test('the HTML report renders in headless Chromium, offline: charts have size, screenshot is not blank', async (t) => {
    if (!existsSync(CHROMIUM)) {
      // CI installs chromium (.ci/run): there a missing browser is a failure, not a skip.
      if (process.env.CI === 'true')
        assert.fail(`${CHROMIUM} not found: the browser tests need Debian's chromium`);
      t.skip(`${CHROMIUM} not found: install Debian's chromium package to run the screenshot test`);
      return;
    }
    const out = join(dir, 'render.html');
    await writeReport(files, out);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();
      const external: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith('file:')) external.push(request.url());
      });
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      assert.deepEqual(external, [], 'the report asked for nothing outside the file');
      const boxes = await page.$$eval('svg.chart', (elements) =>
        elements.map((e) => {
          const r = e.getBoundingClientRect();
          return { width: r.width, height: r.height, bars: e.querySelectorAll('rect.bar').length };
        }),
      );
      assert.equal(boxes.length, 4);
      for (const box of boxes) {
        assert.ok(box.width > 100 && box.height > 100, JSON.stringify(box));
        assert.ok(box.bars > 0);
      }
      const bars = await page.$$eval('#model-comparison rect.bar', (elements) =>
        elements.map((e) => e.getBoundingClientRect().width),
      );
      assert.ok(
        bars.some((w) => w > 10),
        'comparison bars are drawn with length',
      );
      // Every run's label is shown whole: the rendered label text of each row is the entry's label.
      const labels = await page.$$eval('#model-comparison text.category', (elements) =>
        elements.map((e) => [...e.querySelectorAll('tspan')].map((t) => t.textContent).join(' ')),
      );
      const expected = buildReport(await Promise.all(files.map(readReportSource))).entries.map(
        (e) => e.label,
      );
      assert.deepEqual(labels, expected);
      assert.equal(new Set(labels).size, labels.length, 'labels tell the runs apart');
      const chart = await page.locator('#model-comparison').screenshot();
      const full = await page.screenshot({ fullPage: true });
      for (const png of [chart, full]) {
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      }
      // Decode the chart's pixels (IDAT, 8-bit RGB(A), filters undone) and count distinct colours.
      const colours = distinctColours(chart);
      assert.ok(colours >= 5, `the chart screenshot has ${colours} colours`);
      await writeFileAtomic(join(dir, 'report.png'), full);
      if (process.env.TOOLALPACA_KEEP_SCREENSHOT !== undefined)
        await writeFileAtomic(process.env.TOOLALPACA_KEEP_SCREENSHOT, chart);
      await context.close();
    } finally {
      await browser.close();
    }
  });
});

/** Distinct pixel colours of an 8-bit RGB/RGBA non-interlaced PNG. */
function distinctColours(png: Buffer): number {
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('ascii', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const line = Buffer.alloc(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= channels ? (line[x - channels] as number) : 0;
      const b = prev[x] as number;
      const c = x >= channels ? (prev[x - channels] as number) : 0;
      let out = v;
      if (filter === 1) out = v + a;
      else if (filter === 2) out = v + b;
      else if (filter === 3) out = v + Math.floor((a + b) / 2);
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        out = v + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      line[x] = out & 0xff;
    }
    for (let x = 0; x < stride; x += channels) {
      colours.add(((line[x] as number) << 16) | ((line[x + 1] as number) << 8) | (line[x + 2] as number));
    }
    line.copy(prev);
  }
  return colours.size;
}
