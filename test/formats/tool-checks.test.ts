import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOpenApi, openApiToTool, readOpenApiPath } from '../../src/formats/openapi.js';
import { checkTool, formatProblem } from '../../src/formats/tool-checks.js';
import type { ToolProblem } from '../../src/formats/tool-checks.js';
import type { Tool } from '../../src/core/tool.js';

const DATA = join(process.cwd(), '..', 'shared', 'data', 'toolalpaca');

interface EvalRecord {
  Name: string;
  Documentation: string;
}

async function toolsOf(file: string): Promise<Map<string, Tool>> {
  const records = JSON.parse(await readFile(join(DATA, file), 'utf8')) as EvalRecord[];
  const tools = new Map<string, Tool>();
  for (const record of records) {
    tools.set(
      record.Name,
      openApiToTool(await loadOpenApi(record.Documentation, record.Name), { name: record.Name }),
    );
  }
  return tools;
}

async function fixtureTool(name: string): Promise<Tool> {
  const [spec] = await readOpenApiPath(join('test/fixtures/openapi', name));
  assert.ok(spec);
  return openApiToTool(spec);
}

describe('checkTool', () => {
  test('the simulated evaluation tools (generated with operationIds and schemas) pass', async () => {
    const tools = await toolsOf('eval_simulated.json');
    assert.equal(tools.size, 10);
    for (const [name, tool] of tools) assert.deepEqual(checkTool(tool), [], name);
  });

  test('real tools without operationIds, descriptions or response schemas are flagged per function', async () => {
    const tools = await toolsOf('eval_real.json');

    const chuck = tools.get('chucknorris.io');
    assert.ok(chuck);
    const chuckProblems = checkTool(chuck);
    assert.deepEqual(
      chuckProblems.filter((p) => p.message.startsWith('no operationId')).map((p) => p.function),
      chuck.functions.map((f) => f.name),
    );
    assert.ok(chuckProblems.some((p) => p.message === 'no operationId (GET /jokes/random/{category})'));

    const nager = tools.get('Nager.Date');
    assert.ok(nager);
    const nagerMessages = checkTool(nager).map(formatProblem);
    assert.ok(
      nagerMessages.includes(
        "Nager.Date › LongWeekendLongWeekend: parameter 'year' (path) has no description",
      ),
      nagerMessages.join('\n'),
    );
    assert.ok(
      nagerMessages.includes('Nager.Date › PublicHolidayIsTodayPublicHoliday: 200 response has no schema'),
    );
    assert.ok(nagerMessages.every((m) => !m.includes('no operationId')));

    // A well-formed real tool passes.
    const airports = tools.get('airportsapi');
    assert.ok(airports);
    assert.deepEqual(checkTool(airports), []);
  });

  test('fixture problems: derived name, undescribed parameter, response without schema', async () => {
    const problems = checkTool(await fixtureTool('petstore-swagger2.yaml'));
    assert.deepEqual(problems, [
      { tool: 'Petstore', function: 'pets_petId_delete', message: 'no operationId (DELETE /pets/{petId})' },
      {
        tool: 'Petstore',
        function: 'pets_petId_delete',
        message: "parameter 'X-Reason' (header) has no description",
      },
      { tool: 'Petstore', function: 'pets_petId_delete', message: '204 response has no schema' },
    ]);
  });

  test('duplicate operationIds, missing servers and missing 2xx responses', async () => {
    const spec = await loadOpenApi(
      {
        swagger: '2.0',
        info: { title: 'Dupes', version: '1' },
        paths: {
          '/a': {
            get: {
              operationId: 'fetch',
              responses: { '200': { description: 'ok', schema: { type: 'string' } } },
            },
          },
          '/b': {
            get: {
              operationId: 'fetch',
              responses: { '200': { description: 'ok', schema: { type: 'string' } } },
            },
          },
          '/c': { post: { operationId: 'send', responses: { '400': { description: 'bad' } } } },
        },
      },
      'dupes.json',
    );
    const problems = checkTool(openApiToTool(spec));
    assert.deepEqual(problems.map(formatProblem), [
      'Dupes: no servers',
      'Dupes › fetch: operationId used by 2 functions',
      'Dupes › send: no 2xx response',
    ]);
  });

  test('a tool without functions', async () => {
    const spec = await loadOpenApi(
      'openapi: 3.0.0\ninfo: {title: Empty, version: "1"}\npaths: {}\n',
      'empty.yaml',
    );
    assert.deepEqual(checkTool(openApiToTool(spec)).map(formatProblem), [
      'Empty: no servers',
      'Empty: no functions',
    ]);
  });
});

describe('formatProblem', () => {
  test('tool-level and function-level problems', () => {
    const toolLevel: ToolProblem = { tool: 'Weather', message: 'no servers' };
    const fnLevel: ToolProblem = { tool: 'Weather', function: 'getForecast', message: 'no 2xx response' };
    assert.equal(formatProblem(toolLevel), 'Weather: no servers');
    assert.equal(formatProblem(fnLevel), 'Weather › getForecast: no 2xx response');
  });
});
