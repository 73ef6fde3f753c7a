import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { ToolSchema } from '../../src/core/tool.js';
import { httpBindingOf } from '../../src/core/http-binding.js';
import type { HttpBinding, Tool, ToolFunction } from '../../src/core/tool.js';
import {
  deriveFunctionName,
  loadOpenApi,
  openApiToTool,
  parseSpecText,
  readOpenApiPath,
  toolToOpenApi,
  validateOpenApi,
} from '../../src/formats/openapi.js';
import type { LoadedSpec } from '../../src/formats/openapi.js';

const FIXTURES = 'test/fixtures/openapi';
const DATA = join(process.cwd(), '..', 'shared', 'data', 'toolalpaca');

interface EvalRecord {
  Name: string;
  Documentation: string;
  Function_Projection: Record<string, [string, string]>;
}

async function readRecords(file: string): Promise<EvalRecord[]> {
  return JSON.parse(await readFile(join(DATA, file), 'utf8')) as EvalRecord[];
}

async function readOne(name: string): Promise<LoadedSpec> {
  const specs = await readOpenApiPath(join(FIXTURES, name));
  assert.equal(specs.length, 1);
  return specs[0]!;
}

/** The function called `name`, with its HTTP binding's fields beside its own (every function here has one). */
function fn(tool: Tool, name: string): ToolFunction & HttpBinding {
  const found = tool.functions.find((f) => f.name === name);
  assert.ok(found, `function ${name} in ${tool.functions.map((f) => f.name).join(', ')}`);
  return { ...found, ...http(found) };
}

function http(f: ToolFunction | undefined): HttpBinding {
  return (f !== undefined ? httpBindingOf(f) : undefined) ?? assert.fail('no HTTP binding');
}

/** Assert that `action` rejects with a one-line InputError whose message names `where` and matches `pattern`. */
async function rejectsInput(action: () => Promise<unknown>, where: string, pattern: RegExp): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.ok(!error.message.includes('\n'), `one line: ${JSON.stringify(error.message)}`);
    assert.ok(error.message.startsWith(`${where}: `), `names ${where}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('ToolAlpaca evaluation specs', () => {
  for (const file of ['eval_simulated.json', 'eval_real.json']) {
    test(`${file}: every spec loads and maps to its Function_Projection`, async () => {
      const records = await readRecords(file);
      assert.ok(records.length >= 10);
      for (const record of records) {
        const label = `${file} ${record.Name}`;
        const spec = await loadOpenApi(record.Documentation, label);
        assert.match(spec.version, /^openapi-3\.0$/, label);
        const tool = openApiToTool(spec, { name: record.Name });
        assert.equal(tool.name, record.Name);
        ToolSchema.parse(tool);
        const mapped = tool.functions.map((f) => [f.name, [http(f).path, http(f).method]]);
        assert.deepEqual(mapped, Object.entries(record.Function_Projection), label);
        // Everything stored must serialise.
        assert.ok(JSON.stringify(tool).length > 100);
      }
    });

    test(`${file}: toolToOpenApi round trip keeps the functions`, async () => {
      for (const record of await readRecords(file)) {
        const tool = openApiToTool(await loadOpenApi(record.Documentation, record.Name));
        const written = toolToOpenApi(tool);
        assert.match(String(written.openapi), /^3\.0\.\d$/);
        const back = openApiToTool(
          await loadOpenApi(JSON.parse(JSON.stringify(written)) as never, 'round trip'),
        );
        assert.deepEqual(back.functions, tool.functions, record.Name);
        assert.deepEqual(back.servers, tool.servers);
        assert.deepEqual(back.auth, tool.auth);
        assert.equal(back.name, tool.name);
        assert.equal(back.description, tool.description);
      }
    });
  }

  test('a broken $ref (AviationAPI) is replaced by a placeholder, and strict validation reports problems without blocking loading', async () => {
    const records = await readRecords('eval_real.json');
    const aviation = records.find((r) => r.Name === 'AviationAPI');
    assert.ok(aviation);
    const spec = await loadOpenApi(aviation.Documentation, 'aviation');
    assert.deepEqual(spec.warnings, ['unresolved $ref #/components/schemas/error replaced by a placeholder']);
    assert.ok(JSON.stringify(spec.dereferenced).includes('unresolved $ref: #/components/schemas/error'));

    const fruity = records.find((r) => r.Name === 'Fruityvice');
    assert.ok(fruity);
    const fruitySpec = await loadOpenApi(fruity.Documentation, 'fruityvice');
    const problems = await validateOpenApi(fruitySpec);
    assert.ok(
      problems.some((p) => /leading slash/.test(p)),
      problems.join(' | '),
    );
    assert.ok(problems.every((p) => !p.includes('\n')));
    assert.equal(http(openApiToTool(fruitySpec).functions[0]).path, 'api/fruit/{name}');
  });

  test('derived names follow ToolAlpaca: path segments joined by _, braces dropped, method appended', () => {
    assert.equal(deriveFunctionName('get', '/jokes/random/{category}'), 'jokes_random_category_get');
    assert.equal(deriveFunctionName('GET', '/preferred-routes'), 'preferred-routes_get');
    assert.equal(deriveFunctionName('post', '/'), 'root_post');
  });
});

describe('Swagger 2.0 (YAML)', () => {
  test('parameters, bodies, responses, servers and auth are mapped to the Tool model', async () => {
    const spec = await readOne('petstore-swagger2.yaml');
    assert.equal(spec.version, 'swagger-2.0');
    const tool = openApiToTool(spec, { category: 'Animals', authLabel: 'apiKey' });
    ToolSchema.parse(tool);
    assert.equal(tool.name, 'Petstore');
    assert.equal(tool.description, 'A small pet shop API in Swagger 2.0.');
    assert.equal(tool.category, 'Animals');
    assert.equal(tool.authLabel, 'apiKey');
    assert.deepEqual(tool.servers, ['https://petstore.example.com/v2', 'http://petstore.example.com/v2']);
    assert.deepEqual(tool.auth, [
      { name: 'api_key', type: 'apiKey', in: 'header', parameterName: 'X-API-Key' },
      { name: 'basicAuth', type: 'http', scheme: 'basic' },
    ]);
    assert.deepEqual(
      tool.functions.map((f) => `${http(f).method} ${http(f).path} ${f.name}`),
      [
        'get /pets listPets',
        'post /pets createPet',
        'get /pets/{petId} getPet',
        'delete /pets/{petId} pets_petId_delete',
        'post /pets/{petId}/photo uploadPhoto',
      ],
    );

    const list = fn(tool, 'listPets');
    assert.deepEqual(list.parameters[0], {
      name: 'limit',
      in: 'query',
      required: false,
      description: 'How many pets to return at most',
      schema: { type: 'integer', format: 'int32', maximum: 100 },
    });
    assert.deepEqual(list.parameters[1]?.schema, { type: 'array', items: { type: 'string' } });
    assert.equal(list.response?.status, '200');
    const items = list.response?.schema?.items as { allOf: { properties: Record<string, unknown> }[] };
    assert.deepEqual(Object.keys(items.allOf[0]!.properties), ['name', 'tag']);

    const create = fn(tool, 'createPet');
    assert.deepEqual(create.parameters, []);
    assert.equal(create.requestBody?.required, true);
    assert.equal(create.requestBody?.contentType, 'application/json');
    assert.equal(create.requestBody?.description, 'The pet to add');
    assert.deepEqual(create.requestBody?.schema.required, ['name']);
    assert.equal(create.response?.status, '201');

    // Path-level parameters are merged into each operation.
    assert.deepEqual(
      fn(tool, 'getPet').parameters.map((p) => p.name),
      ['petId'],
    );
    const remove = fn(tool, 'pets_petId_delete');
    assert.equal(remove.nameDerived, true);
    assert.deepEqual(
      remove.parameters.map((p) => `${p.in}:${p.name}:${p.required}`),
      ['path:petId:true', 'header:X-Reason:false'],
    );
    assert.deepEqual(remove.response, { status: '204', description: 'Deleted' });

    const upload = fn(tool, 'uploadPhoto');
    assert.equal(upload.requestBody?.contentType, 'multipart/form-data');
    assert.deepEqual(upload.requestBody?.schema, {
      type: 'object',
      properties: {
        file: { type: 'string', format: 'binary', description: 'The photo' },
        caption: { type: 'string', description: 'A caption' },
      },
      required: ['file'],
    });
  });

  test('the OpenAPI 3.0 document written back is strictly valid and reads back to the same functions', async () => {
    const tool = openApiToTool(await readOne('petstore-swagger2.yaml'), {
      category: 'Animals',
      link: 'https://x.test',
    });
    const written = toolToOpenApi(tool);
    assert.deepEqual(await validateOpenApi(written), []);
    const paths = written.paths as Record<string, Record<string, Record<string, unknown>>>;
    assert.equal(paths['/pets']?.get?.operationId, 'listPets');
    // A derived name is left out so it is derived again (and still flagged) on reading.
    assert.equal(paths['/pets/{petId}']?.delete?.operationId, undefined);
    const components = written.components as { securitySchemes: Record<string, unknown> };
    assert.deepEqual(components.securitySchemes.api_key, { type: 'apiKey', name: 'X-API-Key', in: 'header' });
    const back = openApiToTool(await loadOpenApi(written, 'written'));
    assert.deepEqual(back.functions, tool.functions);
    assert.equal(back.category, 'Animals');
    assert.equal(back.link, 'https://x.test');
  });
});

describe('OpenAPI 3.1 (JSON)', () => {
  test('server variables, 2XX responses, $ref parameters and JSON content preference', async () => {
    const spec = await readOne('notes-openapi31.json');
    assert.equal(spec.version, 'openapi-3.1');
    assert.deepEqual(await validateOpenApi(spec), []);
    const tool = openApiToTool(spec);
    ToolSchema.parse(tool);
    assert.deepEqual(tool.servers, ['https://eu.notes.example.com/api']);
    assert.deepEqual(tool.auth, [{ name: 'bearer', type: 'http', scheme: 'bearer' }]);

    const list = fn(tool, 'listNotes');
    assert.equal(list.response?.contentType, 'application/json');
    assert.equal(list.response?.schema?.type, 'array');
    assert.deepEqual(
      list.parameters.map((p) => p.in),
      ['query', 'cookie'],
    );

    const get = fn(tool, 'getNote');
    assert.equal(get.response?.status, '2XX');
    assert.deepEqual(get.parameters, [
      { name: 'noteId', in: 'path', required: true, description: 'The note id', schema: { type: 'string' } },
    ]);
    const properties = get.response?.schema?.properties as Record<string, unknown>;
    assert.deepEqual(properties.archived, { type: ['boolean', 'null'] });

    const create = fn(tool, 'createNote');
    assert.equal(create.requestBody?.required, true);
    assert.equal(create.requestBody?.description, 'The note to create');
    assert.deepEqual(create.requestBody?.schema.required, ['id', 'text']);
    assert.deepEqual(fn(tool, 'deleteNote').response, { status: '204', description: 'Deleted' });

    // The original security scheme (with bearerFormat) is written back.
    const written = toolToOpenApi(tool);
    const schemes = (written.components as { securitySchemes: Record<string, unknown> }).securitySchemes;
    assert.deepEqual(schemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  test('the raw document is left untouched by $ref resolution', async () => {
    const spec = await readOne('notes-openapi31.json');
    const paths = spec.raw.paths as Record<string, { parameters: unknown[] }>;
    assert.deepEqual(paths['/notes/{noteId}']?.parameters, [{ $ref: '#/components/parameters/NoteId' }]);
  });
});

describe('folders', () => {
  test('a folder yields its .json/.yaml/.yml specs sorted by name', async () => {
    const specs = await readOpenApiPath(join(FIXTURES, 'folder'));
    assert.deepEqual(
      specs.map((s) => s.label),
      [join(FIXTURES, 'folder', 'a-weather.yaml'), join(FIXTURES, 'folder', 'b-jokes.json')],
    );
    const tools = specs.map((s) => openApiToTool(s));
    assert.deepEqual(
      tools.map((t) => t.name),
      ['Weather', 'Jokes'],
    );
    assert.deepEqual(
      tools.map((t) => t.functions.map((f) => f.name)),
      [['getCurrentWeather'], ['jokes_random_category_get']],
    );
  });

  test('an empty folder is an input error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openapi-empty-'));
    try {
      await rejectsInput(() => readOpenApiPath(dir), dir, /no \.json, \.yaml or \.yml files/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('recursive schemas', () => {
  test('a self- and mutually-recursive spec loads, maps with cut cycles and serialises', async () => {
    const spec = await readOne('recursive.yaml');
    const tool = openApiToTool(spec);
    ToolSchema.parse(tool);
    const text = JSON.stringify(tool);
    assert.ok(JSON.stringify(spec.dereferenced).length > 0);

    const tree = fn(tool, 'getTree').response?.schema as { properties: Record<string, { items?: unknown }> };
    assert.deepEqual(tree.properties.name, { type: 'string' });
    assert.deepEqual(tree.properties.children?.items, { description: 'recursive: Node' });

    const person = fn(tool, 'getPerson').response?.schema as {
      properties: { team: { properties: Record<string, unknown> } };
    };
    assert.deepEqual(person.properties.team.properties.lead, { description: 'recursive: Person' });
    assert.deepEqual(fn(tool, 'updatePerson').requestBody?.schema, person);

    // The stored JSON parses back into the same tool.
    assert.deepEqual(ToolSchema.parse(JSON.parse(text)).functions, tool.functions);
  });

  test('densely mutually recursive schemas stay bounded', async () => {
    const n = 8;
    const schemas: Record<string, unknown> = {};
    const paths: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const properties: Record<string, unknown> = {};
      for (let j = 0; j < n; j++) properties[`s${j}`] = { $ref: `#/components/schemas/S${j}` };
      schemas[`S${i}`] = { type: 'object', properties };
      paths[`/s${i}`] = {
        get: {
          operationId: `get${i}`,
          responses: {
            '200': {
              description: 'ok',
              content: { 'application/json': { schema: { $ref: `#/components/schemas/S${i}` } } },
            },
          },
        },
      };
    }
    const spec = await loadOpenApi(
      { openapi: '3.0.3', info: { title: 'Mesh', version: '1' }, paths, components: { schemas } },
      'mesh',
    );
    const tool = openApiToTool(spec);
    const size = JSON.stringify(tool).length;
    // Bounded by size, not by time (speed belongs in bench/): 8 schemas referencing each other 8 ways.
    assert.ok(size < 60_000_000, `size ${size}`);
    assert.equal(tool.functions.length, n);
    assert.match(JSON.stringify(tool.functions[0]?.outputSchema), /recursive: S0|truncated/);
  });
});

describe('bad input', () => {
  test('invalid JSON names the file, line and column', async () => {
    const path = join(FIXTURES, 'invalid.json');
    await rejectsInput(() => readOpenApiPath(path), path, /invalid JSON \(line 4, column \d+\)/);
  });

  test('invalid YAML names the file, line and column', async () => {
    const path = join(FIXTURES, 'invalid.yaml');
    await rejectsInput(() => readOpenApiPath(path), path, /invalid YAML \(line \d+, column \d+\)/);
  });

  test('a JSON document that is not OpenAPI', async () => {
    const path = join(FIXTURES, 'not-openapi.json');
    await rejectsInput(
      () => readOpenApiPath(path),
      path,
      /^.*: not an OpenAPI document \(no 'openapi' or 'swagger' field\)$/,
    );
  });

  test('an unknown OpenAPI version', async () => {
    const path = join(FIXTURES, 'openapi-4.yaml');
    await rejectsInput(() => readOpenApiPath(path), path, /: unsupported OpenAPI version 4\.0\.0$/);
    await rejectsInput(
      () => loadOpenApi('swagger: "1.2"\n', 'old.yaml'),
      'old.yaml',
      /unsupported Swagger version 1\.2/,
    );
  });

  test('a missing file', async () => {
    const path = join(FIXTURES, 'does-not-exist.yaml');
    await rejectsInput(() => readOpenApiPath(path), path, /: no such file$/);
  });

  test('top-level values that are not objects', async () => {
    await rejectsInput(() => loadOpenApi('[1, 2]', 'list.json'), 'list.json', /not an OpenAPI document/);
    await rejectsInput(() => loadOpenApi('just text', 'text.yaml'), 'text.yaml', /not an OpenAPI document/);
    await rejectsInput(() => loadOpenApi('  \n', 'blank.yaml'), 'blank.yaml', /empty file/);
  });

  test('a 20 MB file is refused by the default 10 MB limit, and the limit is configurable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openapi-big-'));
    try {
      const path = join(dir, 'big.json');
      const filler = 'x'.repeat(20 * 1024 * 1024 - 60);
      await writeFile(path, `{"openapi":"3.0.0","info":{"title":"${filler}","version":"1"},"paths":{}}`);
      await rejectsInput(() => readOpenApiPath(path), path, /: 20\.0 MB exceeds the 10 MB spec size limit$/);
      const small = join(dir, 'small.json');
      await writeFile(
        small,
        JSON.stringify({ openapi: '3.0.0', info: { title: 'S', version: '1' }, paths: {} }),
      );
      await rejectsInput(
        () => readOpenApiPath(small, { maxBytes: 10 }),
        small,
        /: \d+ bytes exceeds the 10 bytes spec size limit$/,
      );
      await rejectsInput(
        () =>
          loadOpenApi('openapi: 3.0.0\ninfo: {title: T, version: "1"}\npaths: {}\n', 'text.yaml', {
            maxBytes: 8,
          }),
        'text.yaml',
        /exceeds the/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseSpecText', () => {
  test('reads JSON and YAML, including unquoted numeric versions', async () => {
    assert.deepEqual(parseSpecText('{"openapi": "3.0.0"}', 'a.json'), { openapi: '3.0.0' });
    assert.deepEqual(parseSpecText('\ufeffopenapi: 3.1.0\n', 'b.yaml'), { openapi: '3.1.0' });
    const yaml30 = await loadOpenApi('openapi: 3.0\ninfo: {title: T, version: "1"}\npaths: {}\n', 'c.yaml');
    assert.equal(yaml30.version, 'openapi-3.0');
    const swagger = await loadOpenApi('swagger: 2.0\ninfo: {title: T, version: "1"}\npaths: {}\n', 'd.yaml');
    assert.equal(swagger.version, 'swagger-2.0');
    assert.equal(openApiToTool(swagger).name, 'T');
    assert.deepEqual(openApiToTool(swagger).servers, []);
  });
});
