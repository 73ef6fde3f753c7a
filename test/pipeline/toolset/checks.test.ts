import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify as toYaml } from 'yaml';
import type { CatalogEntry } from '../../../src/core/catalog.js';
import {
  checkDocumentation,
  checkIntroduction,
  compactErrors,
  extractSpec,
} from '../../../src/pipeline/toolset/checks.js';
import {
  parseFunctionsText,
  renderFunctionsText,
  type FunctionSpec,
} from '../../../src/pipeline/toolset/functions-text.js';
import { goodSpec } from './toolset-responder.js';

const ENTRY: CatalogEntry = {
  name: 'Cat Facts',
  description: 'Daily cat facts',
  category: 'Animals',
  link: 'https://cat-facts.example.com/',
  auth: '',
  https: true,
};
const FUNCTIONS: FunctionSpec[] = [
  {
    name: 'searchFacts',
    description: 'Search facts',
    input: { query: 'Required. String. Words.' },
    output: 'Facts.',
  },
  {
    name: 'getFact',
    description: 'One fact',
    input: { itemId: 'Required. String. Id.' },
    output: 'The fact.',
  },
];

describe('Functions replies', () => {
  test("ToolAlpaca's layout, with a multi-line output, parses and renders back", () => {
    const text = `Here you go:
1. Name: searchFacts
   Description: Search cat facts by keyword.
   Input: {"query": "Required. String. Words to look for.", "limit": "Optional. Integer. Max results."}
   Output: A list of facts,
   each with its id.

2. **Name:** getFact
   Description: Get one fact.
   Input: {}
   Output: The fact's text.`;
    const parsed = parseFunctionsText(text);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(
      parsed.functions.map((f) => [f.name, Object.keys(f.input), f.output]),
      [
        ['searchFacts', ['query', 'limit'], 'A list of facts, each with its id.'],
        ['getFact', [], "The fact's text."],
      ],
    );
    const again = parseFunctionsText(renderFunctionsText(parsed.functions));
    assert.deepEqual(again.functions, parsed.functions);
  });

  test('a JSON list is accepted and marked; prose, bad names and broken inputs are errors', () => {
    const json = parseFunctionsText(
      JSON.stringify([{ name: 'getFact', description: 'd', input: {}, output: 'o' }]),
    );
    assert.equal(json.fromJson, true);
    assert.deepEqual(json.errors, []);
    assert.match(parseFunctionsText('It has a search function.').errors[0] ?? '', /no functions found/);
    assert.deepEqual(parseFunctionsText('').errors, ['the reply is empty']);
    const bad = parseFunctionsText(
      '1. Name: get fact\n Description: d\n Input: {query: x}\n Output: o\n2. Name: other\n Description: d\n Output: o',
    );
    assert.ok(bad.errors.some((e) => /function get fact: Input is not a JSON object/.test(e)));
    assert.ok(
      bad.errors.some((e) => /function get fact: the name must be a lowerCamelCase identifier/.test(e)),
    );
    assert.ok(bad.errors.some((e) => /function other: no "Input:" line/.test(e)));
  });
});

describe('Introduction and Documentation replies', () => {
  test('introduction: prose passes; empty, JSON and cut-off replies do not', () => {
    assert.equal(
      checkIntroduction('Introduction: Cat Facts serves daily facts about cats to apps.', false).ok,
      true,
    );
    assert.deepEqual(checkIntroduction('  ', false).errors, ['the reply is empty']);
    assert.match(checkIntroduction('{"intro": "x"}', false).errors[0] ?? '', /expected plain prose/);
    assert.match(
      checkIntroduction('Cat Facts serves daily facts about cats to apps and', true).errors[0] ?? '',
      /cut off/,
    );
  });

  test('each kind of bad reply is recognised', () => {
    const spec = goodSpec('Cat Facts', ['searchFacts', 'getFact']);
    const json = JSON.stringify(spec, null, 1);
    assert.equal(extractSpec(json, false).kind, 'json');
    assert.equal(
      extractSpec(`Here is the spec:\n\`\`\`json\n${json}\n\`\`\`\nEnjoy.`, false).spec?.openapi,
      '3.0.0',
    );
    assert.equal(extractSpec('', false).kind, 'empty');
    assert.equal(extractSpec('Sure, the Cat Facts API returns facts.', false).kind, 'prose');
    assert.equal(extractSpec(json.slice(0, 300), true).kind, 'truncated');
    assert.equal(extractSpec(json.slice(0, 300), false).kind, 'truncated');
    const yaml = extractSpec(`\`\`\`yaml\n${toYaml(spec)}\`\`\``, false);
    assert.equal(yaml.kind, 'yaml');
    assert.deepEqual(yaml.spec, spec);
    assert.match(extractSpec('{"openapi": "3.0.0", "paths": {,}}', false).error ?? '', /invalid JSON/);
  });

  test('a good spec passes; YAML and a missing server are fixed locally', async () => {
    const spec = goodSpec('Cat Facts', ['searchFacts', 'getFact']);
    const ok = await checkDocumentation(JSON.stringify(spec), false, ENTRY, FUNCTIONS);
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.ok, true);
    assert.deepEqual(JSON.parse(ok.documentation ?? ''), spec);
    const { servers, ...noServers } = spec;
    void servers;
    const fixed = await checkDocumentation(toYaml(noServers), false, ENTRY, FUNCTIONS);
    assert.equal(fixed.ok, true, fixed.errors.join('; '));
    assert.deepEqual(fixed.localFixes, ['yaml-to-json', 'servers-from-link']);
    assert.deepEqual((JSON.parse(fixed.documentation ?? '') as { servers: unknown }).servers, [
      { url: ENTRY.link },
    ]);
  });

  test('a different API, missing operations, undocumented parameters and Swagger 2 are errors', async () => {
    const other = await checkDocumentation(
      JSON.stringify(goodSpec('Weather Forecast', ['getWeather'])),
      false,
      ENTRY,
      FUNCTIONS,
    );
    assert.equal(other.kind, 'wrong-api');
    assert.match(other.errors[0] ?? '', /describes a different API \(title "Weather Forecast"/);
    const partial = await checkDocumentation(
      JSON.stringify(goodSpec('Cat Facts', ['searchFacts', 'listBreeds'])),
      false,
      ENTRY,
      FUNCTIONS,
    );
    assert.ok(partial.errors.includes('function getFact has no operation (operationId "getFact")'));
    assert.ok(partial.errors.some((e) => /operation listBreeds is not in the Functions list/.test(e)));
    const undocumented = await checkDocumentation(
      JSON.stringify(goodSpec('Cat Facts', ['searchFacts', 'getFact'], { describeParams: false })),
      false,
      ENTRY,
      FUNCTIONS,
    );
    assert.ok(
      undocumented.errors.includes("operation searchFacts: parameter 'query' (query) has no description"),
    );
    const swagger = await checkDocumentation(
      JSON.stringify({ swagger: '2.0', info: { title: 'Cat Facts' }, paths: {} }),
      false,
      ENTRY,
      FUNCTIONS,
    );
    assert.match(swagger.errors[0] ?? '', /Swagger 2\.0; write OpenAPI 3\.0/);
    // A wrong title with the right operations is only renamed.
    const renamed = await checkDocumentation(
      JSON.stringify(goodSpec('Feline Trivia', ['searchFacts', 'getFact'])),
      false,
      ENTRY,
      FUNCTIONS,
    );
    assert.equal(renamed.ok, true);
    assert.deepEqual(renamed.localFixes, ['title-set-to-name']);
  });

  test('errors are made compact for the repair prompt', () => {
    const many = Array.from({ length: 30 }, (_, i) => `problem ${i}\n  with detail ${'x'.repeat(400)}`);
    const compact = compactErrors([...many, ...many]);
    assert.equal(compact.length, 13);
    assert.ok(compact.every((e) => !e.includes('\n') && e.length <= 220));
    assert.equal(compact[12], 'and 18 more problems of the same kinds');
  });
});
