import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import {
  deriveNlDocumentation,
  deriveNlDocumentationFromText,
  pythonStrip,
  type NlDocumentation,
  type RefRendering,
} from '../../src/formats/nl-documentation.js';
import { parsePythonJson, pythonJsonDumps } from '../../src/formats/python-json.js';
import { InputError } from '../../src/core/errors.js';
import { isRecord } from '../../src/core/json-text.js';
import { sharedData } from '../helpers/paths.js';

interface ReferenceTool {
  Name: string;
  Documentation: string;
  NLDocumentation: string;
  Function_Description: Record<string, string>;
  Function_Projection: Record<string, [string, string]>;
}

function loadReference(): ReferenceTool[] {
  const tools: ReferenceTool[] = [];
  for (const file of ['toolalpaca/eval_simulated.json', 'toolalpaca/eval_real.json']) {
    tools.push(...(JSON.parse(readFileSync(sharedData(file), 'utf8')) as ReferenceTool[]));
  }
  return tools;
}

interface Tally {
  nl: string[];
  descriptions: string[];
  projections: string[];
}

/** Names of the tools whose derived fields differ from the published ones. */
function compare(tools: ReferenceTool[], derive: (tool: ReferenceTool) => NlDocumentation): Tally {
  const tally: Tally = { nl: [], descriptions: [], projections: [] };
  for (const tool of tools) {
    const derived = derive(tool);
    if (derived.NLDocumentation !== tool.NLDocumentation) tally.nl.push(tool.Name);
    if (!isDeepStrictEqual(derived.Function_Description, tool.Function_Description)) {
      tally.descriptions.push(tool.Name);
    }
    if (!isDeepStrictEqual(derived.Function_Projection, tool.Function_Projection)) {
      tally.projections.push(tool.Name);
    }
  }
  return tally;
}

/** Whether the spec has a `$ref` as an object property's schema or as a whole request-body schema. */
function hasExpandedRefs(spec: unknown): boolean {
  let found = false;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    if (!isRecord(node)) return;
    if (isRecord(node.properties)) {
      for (const prop of Object.values(node.properties)) if (isRecord(prop) && '$ref' in prop) found = true;
    }
    if (isRecord(node.requestBody) && isRecord(node.requestBody.content)) {
      for (const media of Object.values(node.requestBody.content)) {
        if (isRecord(media) && isRecord(media.schema) && '$ref' in media.schema) found = true;
      }
    }
    Object.values(node).forEach(walk);
  };
  walk(spec);
  return found;
}

describe('ToolAlpaca reference data (eval_simulated.json + eval_real.json)', () => {
  const tools = loadReference();

  test('has the 21 tools', () => {
    assert.equal(tools.length, 21);
  });

  test('derived fields match the published ones (default rendering)', () => {
    const tally = compare(tools, (tool) => deriveNlDocumentationFromText(tool.Documentation));
    console.log(
      `NLDocumentation ${tools.length - tally.nl.length}/${tools.length} identical` +
        `, Function_Description ${tools.length - tally.descriptions.length}/${tools.length}` +
        `, Function_Projection ${tools.length - tally.projections.length}/${tools.length}` +
        (tally.nl.length + tally.descriptions.length + tally.projections.length === 0
          ? ''
          : `; differing: ${JSON.stringify(tally)}`),
    );
    assert.ok(tools.length - tally.nl.length >= 19, `NLDocumentation differs for ${tally.nl.join(', ')}`);
    assert.ok(
      tools.length - tally.descriptions.length >= 19,
      `Function_Description differs for ${tally.descriptions.join(', ')}`,
    );
    assert.deepEqual(tally.projections, []);
  });

  test('JSON.parse input gives the same result as the text entry point on this data', () => {
    for (const tool of tools) {
      assert.deepEqual(
        deriveNlDocumentation(JSON.parse(tool.Documentation) as Record<string, unknown>),
        deriveNlDocumentationFromText(tool.Documentation),
        tool.Name,
      );
    }
  });

  test('Function_Description and Function_Projection serialise in the published key order', () => {
    for (const tool of tools) {
      const derived = deriveNlDocumentationFromText(tool.Documentation);
      assert.equal(
        pythonJsonDumps(derived.Function_Description),
        pythonJsonDumps(tool.Function_Description),
        tool.Name,
      );
      assert.equal(pythonJsonDumps(derived.Function_Projection), pythonJsonDumps(tool.Function_Projection));
    }
  });

  test("'as-script' rendering differs exactly on the tools whose $refs the published data expanded", () => {
    const refs: RefRendering = 'as-script';
    const tally = compare(tools, (tool) => deriveNlDocumentationFromText(tool.Documentation, { refs }));
    const expected = tools
      .filter((tool) => hasExpandedRefs(JSON.parse(tool.Documentation)))
      .map((t) => t.Name);
    console.log(`'as-script' differs on: ${tally.nl.join(', ')}`);
    assert.ok(expected.length > 0);
    assert.deepEqual(tally.nl, expected);
    assert.deepEqual(tally.descriptions, expected);
    assert.deepEqual(tally.projections, []);
    const superset = tools.find((tool) => tool.Name === 'Apache Superset');
    assert.ok(superset !== undefined);
    const derived = deriveNlDocumentationFromText(superset.Documentation, { refs });
    assert.match(
      derived.Function_Description.createDashboard ?? '',
      /^Parameters: \{#CreateDashboardRequest\}$/m,
    );
  });
});

/** Exercises parameters, path-level parameters, enums, required flags, request bodies and responses. */
const MIXED_SPEC = JSON.stringify({
  paths: {
    '/users/{id}/posts': {
      parameters: [
        { name: 'verbose', in: 'query', schema: { type: 'boolean' } },
        { name: 'id', in: 'path', required: true, schema: { type: 'integer' }, description: 'Path-level id' },
      ],
      get: {
        summary: '  List posts',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'tags',
            in: 'query',
            required: 'yes',
            schema: { type: 'array', items: { type: 'string' } },
            description: 'Tags to filter by',
          },
          {
            name: 'color',
            in: 'query',
            required: false,
            schema: { type: 'string', description: 'Colour', enum: ['red', 'green'] },
          },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', enum: [1, 2.5, true, null] },
            description: 'Page size.',
          },
        ],
        responses: {
          404: { description: 'nope' },
          200: {
            description: 'OK',
            content: {
              'application/json': {
                schema: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      id: { type: 'integer' },
                      kind: { oneOf: [{ type: 'string' }, { $ref: '#/components/schemas/Kind' }] },
                    },
                  },
                },
              },
            },
          },
        },
      },
      post: {
        operationId: 'createPost',
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['title', 'id'],
                properties: {
                  title: { type: 'string', description: 'Title' },
                  body: { type: 'object', properties: { text: { type: 'string' } }, description: 'Body' },
                  id: { type: 'integer' },
                },
              },
            },
          },
        },
        responses: { 200: { description: 'Done.' } },
      },
    },
  },
  components: { schemas: { Kind: { type: 'string', enum: ['a', 'b'] } } },
});

describe('rendering rules on hand-written specs', () => {
  // Expected strings below were checked against ToolAlpaca's Python script run on the same spec.
  test('parameters, required flags, enums, request body and output structure', () => {
    const derived = deriveNlDocumentationFromText(MIXED_SPEC);
    const getParams =
      'Parameters: {"id": "Required. integer. Path-level id.", "tags": "Required. Array[string].  Tags to filter by.", ' +
      '"color": "string. Colour. One of: [red, green]. ", "limit": "integer. One of: [1, 2.5, True, None]. Page size.", ' +
      '"verbose": "boolean. "}';
    const postParams =
      'Parameters: {"verbose": "boolean. ", "id": "Required. integer.", "title": "Required. string. Title.", ' +
      '"body": "Object{text: string.}. Body."}';
    assert.equal(
      derived.NLDocumentation,
      `users_id_posts_get:   List posts\n${getParams}\nOutput: OK.\n - Format: application/json\n` +
        ' - Structure: Array[Object{id, kind:  OR #Kind}]\n' +
        `createPost: \n${postParams}\nOutput: Done.\n - Format: \n - Structure: \n` +
        '\nThe detailed output format for the tools is outlined below:\n#Kind: \n',
    );
    assert.deepEqual(derived.Function_Description, {
      users_id_posts_get:
        `List posts\n${getParams}\nOutput: OK.\n - Format: application/json\n` +
        ' - Structure: Array[Object{id, kind:  OR #Kind}]',
      createPost: `${postParams}\nOutput: Done.\n - Format: \n - Structure:`,
      components: 'The detailed output format for the tools is outlined below:\n#Kind:',
    });
    assert.deepEqual(derived.Function_Projection, {
      users_id_posts_get: ['/users/{id}/posts', 'get'],
      createPost: ['/users/{id}/posts', 'post'],
    });
  });

  test('the first 2xx response in source order is used, even when "201" precedes "200"', () => {
    const text =
      '{"paths": {"/a": {"post": {"operationId": "make", "responses": {"201": {"description": "Created"}, ' +
      '"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "string"}}}}}}}}}';
    const fromText = deriveNlDocumentationFromText(text);
    assert.match(fromText.NLDocumentation, /Output: Created\.\n - Format: \n/);
    // JS objects list integer-like keys in ascending order, so a JSON.parse'd spec sees "200" first.
    const fromObject = deriveNlDocumentation(JSON.parse(text) as Record<string, unknown>);
    assert.match(fromObject.NLDocumentation, /Output: OK\.\n - Format: application\/json\n/);
  });

  test('integer-like function names keep their order when serialised', () => {
    const text =
      '{"paths": {"/b": {"get": {"operationId": "zeta", "responses": {}}}, "/a": {"get": {"operationId": "7", "responses": {}}}}}';
    const derived = deriveNlDocumentationFromText(text);
    assert.equal(pythonJsonDumps(derived.Function_Projection), '{"zeta": ["/b", "get"], "7": ["/a", "get"]}');
    assert.equal(
      pythonJsonDumps(derived.Function_Description),
      '{"zeta": "Parameters: {}\\nOutput: \\n - Format: \\n - Structure:", ' +
        '"7": "Parameters: {}\\nOutput: \\n - Format: \\n - Structure:", "components": ""}',
    );
    assert.ok(derived.NLDocumentation.startsWith('zeta: \nParameters: {}\n'));
  });

  test('no components: the "components" entry is an empty string and nothing is appended', () => {
    const derived = deriveNlDocumentation({
      paths: { '/ping': { get: { summary: 'Ping', responses: { 200: { description: 'pong' } } } } },
    });
    assert.equal(
      derived.NLDocumentation,
      'ping_get: Ping\nParameters: {}\nOutput: pong.\n - Format: \n - Structure: \n',
    );
    assert.deepEqual(derived.Function_Description, {
      ping_get: 'Ping\nParameters: {}\nOutput: pong.\n - Format: \n - Structure:',
      components: '',
    });
  });

  test('a float enum value written 1.0 prints as Python prints it', () => {
    const text =
      '{"paths": {"/v": {"get": {"parameters": [{"name": "v", "schema": {"type": "number", "enum": [1.0, 0.00001, 1e16]}}], "responses": {}}}}}';
    assert.match(
      deriveNlDocumentationFromText(text).NLDocumentation,
      /"v": "number\. One of: \[1\.0, 1e-05, 1e\+16\]\. "/,
    );
  });

  test('malformed Documentation text is an InputError naming the label', () => {
    assert.throws(
      () => deriveNlDocumentationFromText('{"paths": ', { label: 'tools.json: record 3 ("X")' }),
      (error: unknown) =>
        error instanceof InputError && error.message.startsWith('tools.json: record 3 ("X")'),
    );
    assert.throws(() => deriveNlDocumentationFromText('[1, 2]'), InputError);
  });

  test('specs the Python script would crash on still render', () => {
    const derived = deriveNlDocumentation({
      paths: {
        '/x': {
          get: {
            description: 42,
            parameters: [
              { name: 'n', schema: { oneOf: [{ type: null }, { type: 'string' }] }, description: null },
            ],
          },
          post: { requestBody: { content: {} }, responses: { 200: null } },
        },
        '/y': 'not an operation map',
      },
      components: { schemas: [] },
    });
    assert.equal(
      derived.NLDocumentation,
      'x_get: 42\nParameters: {"n": "None. OR string. "}\nOutput: \n - Format: \n - Structure: \n' +
        'x_post: \nParameters: {}\nOutput: \n - Format: \n - Structure: \n',
    );
  });

  test('pythonStrip uses Python whitespace (not U+FEFF, but U+001F and U+0085)', () => {
    assert.equal(pythonStrip('\u001f\u0085 a \ufeff'), 'a \ufeff');
  });
});

describe('$ref handling', () => {
  const recursive = {
    paths: {
      '/tree': {
        get: {
          operationId: 'getTree',
          responses: {
            200: {
              description: 'A tree',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } },
            },
          },
        },
        post: {
          operationId: 'addNode',
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } },
          responses: { 200: { description: 'Added' } },
        },
      },
    },
    components: {
      schemas: {
        Node: {
          type: 'object',
          required: ['value'],
          properties: {
            value: { type: 'string' },
            parent: { $ref: '#/components/schemas/Node' },
            children: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
            address: { $ref: '#/components/schemas/Address' },
          },
        },
        Address: { type: 'object', properties: { street: { type: 'string' } }, description: 'Where' },
        A: { type: 'object', properties: { b: { $ref: '#/components/schemas/B' } } },
        B: { type: 'object', properties: { a: { $ref: '#/components/schemas/A' }, n: { type: 'integer' } } },
        Missing: { type: 'object', properties: { m: { $ref: '#/components/schemas/Nowhere' } } },
      },
    },
  };

  test('recursive and mutually recursive schemas terminate; expansion stops at the first repeat', () => {
    const derived = deriveNlDocumentation(recursive);
    assert.equal(
      derived.Function_Description.components,
      'The detailed output format for the tools is outlined below:\n' +
        '#Node: Object{value, parent: #Node, children: Array[#Node], address: Object{street}}\n' +
        '#Address: Object{street}\n' +
        '#A: Object{b: Object{a: #A, n}}\n' +
        '#B: Object{a: Object{b: #B}, n}\n' +
        '#Missing: Object{m: #Nowhere}',
    );
    assert.equal(
      derived.Function_Description.addNode,
      'Parameters: {"value": "Required. string.", "parent": "#Node", "children": "Array[#Node]. ", ' +
        '"address": "Object{street: string.}. Where."}\nOutput: Added.\n - Format: \n - Structure:',
    );
    assert.match(derived.Function_Description.getTree ?? '', / - Structure: #Node$/);
  });

  test("'as-script' never expands a $ref", () => {
    const derived = deriveNlDocumentation(recursive, { refs: 'as-script' });
    assert.match(derived.Function_Description.addNode ?? '', /^Parameters: \{#Node\}$/m);
    assert.match(
      derived.NLDocumentation,
      /^#Node: Object\{value, parent: #Node, children: Array\[#Node\], address: #Address\}$/m,
    );
  });

  test('a wide reference graph is bounded (no exponential blow-up)', () => {
    const schemas: Record<string, unknown> = {};
    for (let level = 0; level < 12; level++) {
      const properties: Record<string, unknown> = {};
      for (let i = 0; i < 10; i++) properties[`p${i}`] = { $ref: `#/components/schemas/L${level + 1}` };
      schemas[`L${level}`] = { type: 'object', properties };
    }
    schemas.L12 = { type: 'string' };
    const derived = deriveNlDocumentation({ paths: {}, components: { schemas } });
    assert.ok(derived.NLDocumentation.length < 5_000_000, `length ${derived.NLDocumentation.length}`);
    // Each schema gets its own expansion budget: the last levels expand fully, the first ones partly.
    assert.match(derived.NLDocumentation, /^#L11: Object\{p0, p1, p2, p3, p4, p5, p6, p7, p8, p9\}$/m);
    assert.match(derived.NLDocumentation, /^#L0: Object\{p0: Object\{p0: Object\{.*p9: #L1\}$/m);
  });

  test('a cyclic in-memory object (e.g. from a dereferencer) terminates', () => {
    const node: Record<string, unknown> = { type: 'object' };
    node.properties = { self: node, name: { type: 'string' } };
    const derived = deriveNlDocumentation({ paths: {}, components: { schemas: { Node: node } } });
    assert.match(derived.NLDocumentation, /^#Node: Object\{self: \.\.\., name\}$/m);
  });

  test('deeply nested JSON text is refused instead of overflowing the stack', () => {
    const deep = `{"paths": {}, "x": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    assert.throws(() => deriveNlDocumentationFromText(deep), InputError);
    assert.doesNotThrow(() => parsePythonJson(`${'['.repeat(500)}${']'.repeat(500)}`));
  });
});
