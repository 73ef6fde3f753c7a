/** Hostile tool files for tests: a `$ref` bomb, a schema nested N levels, huge sparse files. */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** 40 schemas, each referencing the previous one twice: 2^40 nodes once expanded, 5 KB as written. */
export function refBomb(title: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = { S0: { type: 'object', properties: { v: { type: 'string' } } } };
  for (let i = 1; i < 40; i++) {
    const previous = { $ref: `#/components/schemas/S${i - 1}` };
    schemas[`S${i}`] = { type: 'object', properties: { a: previous, b: { ...previous } } };
  }
  return {
    openapi: '3.0.0',
    info: { title, version: '1' },
    servers: [{ url: 'https://bomb.example.com' }],
    paths: {
      '/b': {
        get: {
          operationId: 'explode',
          responses: {
            '200': {
              description: 'ok',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/S39' } } },
            },
          },
        },
      },
    },
    components: { schemas },
  };
}

/** A spec whose response schema nests `levels` objects (written as text: JSON.stringify would overflow). */
export function deepSpecText(title: string, levels: number): string {
  const schema = `${'{"type":"object","properties":{"x":'.repeat(levels)}{"type":"string"}${'}}'.repeat(levels)}`;
  return `{"openapi":"3.0.0","info":{"title":"${title}","version":"1"},"servers":[{"url":"https://deep.example.com"}],"paths":{"/d":{"get":{"operationId":"dive","responses":{"200":{"description":"ok","content":{"application/json":{"schema":${schema}}}}}}}}}`;
}

export function fineSpec(title: string): Record<string, unknown> {
  return {
    openapi: '3.0.0',
    info: { title, version: '1' },
    servers: [{ url: 'https://fine.example.com' }],
    paths: {
      '/f': {
        get: {
          operationId: 'fine',
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
    },
  };
}

export function record(name: string, documentation: string): string {
  return `{"Name":${JSON.stringify(name)},"Description":"d","Documentation":${JSON.stringify(documentation)}}`;
}

/** A file of `size` bytes that starts with `head` and takes no disk space (sparse). */
export function sparseFile(path: string, head: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}
