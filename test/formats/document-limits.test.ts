import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { depthWithin, expandedSizeWithin } from '../../src/formats/document-limits.js';

describe('document limits', () => {
  test('depth: counted without recursion, undefined past the limit', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { x: deep };
    assert.equal(depthWithin(deep, 1000), undefined);
    assert.equal(depthWithin({ a: [{ b: 1 }], c: {} }, 1000), 3);
    assert.equal(depthWithin({ a: [{ b: 1 }] }, 2), undefined);
  });

  test('expanded size: $refs count as their targets, shared targets reused, cycles as one node', () => {
    const doc = {
      defs: { A: { type: 'string' }, B: { items: { $ref: '#/defs/A' } } },
      use: [{ $ref: '#/defs/B' }, { $ref: '#/defs/B' }],
    };
    // defs: 1 + A(2) + B(1 + items(1 + "#/defs/A" + A(2))) = 1 + 2 + 5 = 8; each use: 1 + ref text + B(5) = 7.
    assert.equal(expandedSizeWithin(doc, 1e6), 1 + 8 + (1 + 7 + 7));
    const cycle = { defs: { N: { properties: { next: { $ref: '#/defs/N' } } } } };
    assert.equal(typeof expandedSizeWithin(cycle, 1e6), 'number');
  });

  test('a reference bomb is found over the budget without expanding it', () => {
    const defs: Record<string, unknown> = { S0: { type: 'string' } };
    for (let i = 1; i < 1000; i++)
      defs[`S${i}`] = { a: { $ref: `#/defs/S${i - 1}` }, b: { $ref: `#/defs/S${i - 1}` } };
    // 2^1000 nodes once expanded; the count stops at the budget.
    assert.equal(expandedSizeWithin({ defs, root: { $ref: '#/defs/S999' } }, 1_000_000), undefined);
  });
});
