import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/core/errors.js';
import {
  parseCatalogCsv,
  parseCatalogJson,
  parseCatalogMarkdown,
  parseCsvRows,
  readCatalog,
} from '../../../src/pipeline/toolset/catalog-readers.js';
import { seededShuffle } from '../../../src/core/random.js';
import { selectEntries, summarizeCatalog } from '../../../src/pipeline/toolset/select.js';
import { makeTempDir, repoRoot, sharedData } from '../../helpers/paths.js';

const PUBLIC_APIS = sharedData('toolalpaca/public_apis.json');
const README = join(repoRoot, 'test/fixtures/catalog/readme-sample.md');
const CSV = join(repoRoot, 'test/fixtures/catalog/apis.csv');

describe('catalogue readers', () => {
  test("ToolAlpaca's public_apis.json: 1,425 entries in 51 categories", async () => {
    const entries = await readCatalog(PUBLIC_APIS);
    assert.equal(entries.length, 1425);
    const summary = summarizeCatalog(entries);
    assert.equal(summary.categories, 51);
    assert.equal(summary.byCategory.Development, 120);
    assert.equal(summary.byAuth.none, 669);
    assert.equal(summary.byAuth.apiKey, 600);
    assert.deepEqual(summary.byHttps, { yes: 1333, no: 92, unknown: 0 });
    assert.ok(summary.duplicateNames.includes('SWAPI'));
    const axolotl = entries.find((e) => e.name === 'Axolotl');
    assert.deepEqual(axolotl, {
      name: 'Axolotl',
      description: 'Collection of axolotl pictures and facts',
      category: 'Animals',
      link: 'https://theaxolotlapi.netlify.app/',
      auth: '',
      https: true,
      cors: 'no',
    });
  });

  test('public-apis README tables: category from the heading, link from the name cell, escaped pipes', async () => {
    const entries = await readCatalog(README);
    assert.deepEqual(
      entries.map((e) => `${e.category}/${e.name}`),
      [
        'Animals/Cat Facts',
        'Animals/Dogs',
        'Animals/eBird',
        'Books/Gutendex',
        'Books/Open Library',
        'Weather/7Timer!',
        'Weather/OpenWeatherMap',
      ],
    );
    const ebird = entries.find((e) => e.name === 'eBird');
    assert.equal(ebird?.auth, 'apiKey');
    assert.equal(ebird?.link, 'https://documenter.getpostman.com/view/664302/S1ENwy59');
    assert.equal(
      entries.find((e) => e.name === 'Gutendex')?.description,
      'Web-API for fetching data from Project Gutenberg | ebooks',
    );
    assert.equal(entries.find((e) => e.name === '7Timer!')?.https, false);
    assert.equal(entries.find((e) => e.name === 'Cat Facts')?.auth, '');
  });

  test('CSV with quotes, doubled quotes, an embedded newline and empty cells', async () => {
    const entries = await readCatalog(CSV);
    assert.equal(entries.length, 4);
    assert.equal(entries[1]?.description, 'Books from Project Gutenberg, as JSON');
    assert.equal(entries[2]?.description, 'Weather "now" and forecasts');
    assert.equal(entries[3]?.description, "Our team's inventory service\n(two-line description)");
    assert.equal(entries[3]?.https, false);
    assert.equal(entries[3]?.auth, 'OAuth');
    assert.equal(entries[3]?.cors, undefined);
  });

  test("a user's JSON list with other key spellings", () => {
    const entries = parseCatalogJson(
      [
        { title: 'Inventory', summary: 'Stock levels', url: 'https://inv.example.com', group: 'Internal' },
        { API_Name: 'Billing', description: 'Invoices', https: 'yes' },
      ],
      'mine.json',
    );
    assert.equal(entries[0]?.name, 'Inventory');
    assert.equal(entries[0]?.description, 'Stock levels');
    assert.equal(entries[0]?.link, 'https://inv.example.com');
    assert.equal(entries[0]?.category, 'Internal');
    assert.equal(entries[1]?.name, 'Billing');
    assert.equal(entries[1]?.category, 'Uncategorized');
    assert.equal(entries[1]?.https, true);
  });

  test('bad input is a one-line InputError naming the file and the entry', async () => {
    assert.throws(
      () => parseCatalogJson([{ name: 'A' }, { description: 'no name' }], 'x.json'),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.equal(error.message, 'x.json: entry 1: no name (expected a "name" or "API" field)');
        return true;
      },
    );
    assert.throws(
      () => parseCatalogCsv('description,link\nfoo,bar\n', 'y.csv'),
      /y\.csv: the header row has no name column/,
    );
    assert.throws(
      () => parseCsvRows('name\n"open', 'z.csv'),
      /z\.csv: line 2: a quoted field is never closed/,
    );
    assert.throws(() => parseCatalogMarkdown('# nothing here\n', 'r.md'), /r\.md: no API tables found/);
    const dir = makeTempDir();
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"entries": [');
    await assert.rejects(readCatalog(broken), /broken\.json: invalid JSON at end of input/);
    await assert.rejects(readCatalog(join(dir, 'missing.csv')), /missing\.csv: file not found/);
  });
});

describe('selection', () => {
  test('filters by category, auth and HTTPS; quotas per category; limit', async () => {
    const entries = await readCatalog(PUBLIC_APIS);
    const animals = selectEntries(entries, { categories: ['animals'] });
    assert.ok(animals.length > 5 && animals.every((e) => e.category === 'Animals'));
    const noAuthHttps = selectEntries(entries, { auth: ['none'], https: true });
    assert.ok(noAuthHttps.length > 0 && noAuthHttps.every((e) => e.auth === '' && e.https === true));
    const quota = selectEntries(entries, { perCategory: 2 });
    assert.equal(quota.length, 102);
    assert.ok(Object.values(summarizeCatalog(quota).byCategory).every((n) => n === 2));
    assert.equal(selectEntries(entries, { perCategory: 2, limit: 7 }).length, 7);
    assert.throws(
      () => selectEntries(entries, { categories: ['Animalz'] }),
      /no category "Animalz" in the catalogue/,
    );
  });

  test('a seed samples the same entries every time, and another seed others', async () => {
    const entries = await readCatalog(PUBLIC_APIS);
    const a = selectEntries(entries, { seed: 7, limit: 20 }).map((e) => e.name);
    const b = selectEntries(entries, { seed: 7, limit: 20 }).map((e) => e.name);
    const c = selectEntries(entries, { seed: 8, limit: 20 }).map((e) => e.name);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.notDeepEqual(
      a,
      entries.slice(0, 20).map((e) => e.name),
    );
    // A shuffle is a permutation.
    const shuffled = seededShuffle([1, 2, 3, 4, 5, 6, 7, 8], 3);
    assert.deepEqual([...shuffled].sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
