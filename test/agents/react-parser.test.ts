import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  firstBalancedJson,
  parseActionArgs,
  parseReactOutput,
  repairJson,
  type ParsedTurn,
} from '../../src/agents/react-parser.js';

function action(turn: ParsedTurn): Extract<ParsedTurn, { kind: 'action' }> {
  assert.equal(turn.kind, 'action', JSON.stringify(turn));
  return turn as Extract<ParsedTurn, { kind: 'action' }>;
}

describe('parseReactOutput: unit cases', () => {
  test('a clean ToolAlpaca action (the text after the prompt\'s "Thought:")', () => {
    const turn = action(
      parseReactOutput(
        ' I need to search.\nAction: searchAxolotlImages\nAction Input: {"color": "wild", "page": 2}',
      ),
    );
    assert.equal(turn.thought, 'I need to search.');
    assert.equal(turn.action, 'searchAxolotlImages');
    assert.equal(turn.actionInput, '{"color": "wild", "page": 2}');
    assert.deepEqual(turn.args, { color: 'wild', page: 2 });
    assert.equal(turn.argsText, '{"color": "wild", "page": 2}');
  });

  test('a final answer keeps the thought before it and the text after it', () => {
    assert.deepEqual(parseReactOutput(' I have the facts now.\nFinal Answer: Axolotls live in Mexico.\n'), {
      kind: 'final',
      thought: 'I have the facts now.',
      answer: 'Axolotls live in Mexico.',
    });
  });

  test('test_v1 forms: ASSISTANT Action / ASSISTANT Action Input / ASSISTANT Response', () => {
    const turn = action(
      parseReactOutput(
        ' I should look.\nASSISTANT Action: getAxolotlFacts\nASSISTANT Action Input: {"limit": 3}',
      ),
    );
    assert.equal(turn.action, 'getAxolotlFacts');
    assert.deepEqual(turn.args, { limit: 3 });
    assert.deepEqual(parseReactOutput(' Done.\nASSISTANT Response: Here are three facts.'), {
      kind: 'final',
      thought: 'Done.',
      answer: 'Here are three facts.',
    });
  });

  test('"Response:" without ASSISTANT is not a final marker', () => {
    assert.equal(parseReactOutput('Response: hello').kind, 'invalid');
  });

  test('code fences, single quotes, Python literals, trailing commas and commentary', () => {
    const turn = action(
      parseReactOutput(
        "Thought: x\nAction: `getFacts`\nAction Input: ```json\n{'a': 'it\\'s', \"b\": True, 'c': None,}\n```\nThis should work.",
      ),
    );
    assert.equal(turn.action, 'getFacts');
    assert.deepEqual(turn.args, { a: "it's", b: true, c: null });
    assert.equal(turn.argsText, JSON.stringify({ a: "it's", b: true, c: null }));
  });

  test('missing Thought label, quoted action name with (), markdown bold labels', () => {
    const turn = action(parseReactOutput('**Action:** "listRoles()"\n**Action Input:** {}'));
    assert.equal(turn.thought, '');
    assert.equal(turn.action, 'listRoles');
    assert.deepEqual(turn.args, {});
  });

  test('Action glued to the thought and Action Input on the same line', () => {
    assert.equal(action(parseReactOutput('I will search.Action: foo\nAction Input: {"q": 1}')).action, 'foo');
    const inline = action(parseReactOutput('Action: foo Action Input: {"k": null}'));
    assert.equal(inline.action, 'foo');
    assert.deepEqual(inline.args, { k: null });
  });

  test('both an action and a final answer: the final answer wins (ToolAlpaca rule)', () => {
    const turn = parseReactOutput('Thought: hmm\nFinal Answer: I cannot.\nAction: foo\nAction Input: {}');
    assert.deepEqual(turn, {
      kind: 'final',
      thought: 'hmm',
      answer: 'I cannot.\nAction: foo\nAction Input: {}',
    });
  });

  test('a marker inside the action input JSON is an argument, not a marker', () => {
    const turn = action(parseReactOutput('Action: search\nAction Input: {"q": "Final Answer: x"}'));
    assert.deepEqual(turn.args, { q: 'Final Answer: x' });
  });

  test('text after an Observation line is ignored, as a stop sequence would cut it', () => {
    const turn = action(
      parseReactOutput('Action: foo\nAction Input: {"x": 1}\nObservation: made up\nFinal Answer: bad'),
    );
    assert.deepEqual(turn.args, { x: 1 });
  });

  test('lists and non-JSON inputs give a parse error with the action kept', () => {
    const list = action(parseReactOutput('Action: foo\nAction Input: [1, 2]'));
    assert.equal(list.args, undefined);
    assert.match(list.parseError ?? '', /cannot be a list/);
    const prose = action(parseReactOutput('Action: foo\nAction Input: the red one'));
    assert.match(prose.parseError ?? '', /not JSON/);
    const broken = action(parseReactOutput('Action: foo\nAction Input: {"a": }'));
    assert.match(broken.parseError ?? '', /not valid JSON/);
  });

  test('an empty input means no arguments', () => {
    assert.deepEqual(action(parseReactOutput('Action: getRandomAxolotlImage\nAction Input: ')).args, {});
    assert.deepEqual(action(parseReactOutput('Action: getRandomAxolotlImage\nAction Input: None')).args, {});
  });

  test('invalid replies say why', () => {
    assert.deepEqual(parseReactOutput(''), { kind: 'invalid', reason: 'the reply is empty' });
    assert.equal(parseReactOutput('just chatting').kind, 'invalid');
    assert.match((parseReactOutput('Action: foo') as { reason: string }).reason, /no 'Action Input:'/);
    assert.equal(parseReactOutput(42).kind, 'invalid');
  });

  test('helpers: balanced JSON and repair', () => {
    assert.deepEqual(firstBalancedJson('x {"a": "}"} y'), { start: 2, end: 12 });
    assert.equal(firstBalancedJson('{"a": 1'), undefined);
    assert.equal(repairJson("{'a': 'say \"hi\"', 'b': False}"), '{"a": "say \\"hi\\"", "b": false}');
    // An input written as a JSON string holding the JSON object.
    const quoted = parseActionArgs('"{\\"a\\": 1}"');
    assert.ok(quoted.ok);
    assert.deepEqual(quoted.args, { a: 1 });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property-based tests.

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
const word = fc.stringMatching(/^[a-z]{1,8}$/);
const thoughtText = fc.array(word, { minLength: 0, maxLength: 12 }).map((ws) => ws.join(' '));

/** JSON values without -0 (JSON cannot tell it from 0). */
const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const argsArb = fc
  .dictionary(fc.string({ maxLength: 10 }), jsonValue, { maxKeys: 5 })
  .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);

/** Python-ish rendering: single-quoted strings, True/False/None. */
function pyRepr(value: unknown): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') {
    const escaped = JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
    return `'${escaped}'`;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`,
  );
  return `{${entries.join(', ')}}`;
}

interface Mess {
  /** Whitespace at line ends. */
  pad: string;
  /** Whitespace after a label. */
  hpad: string;
  thoughtLabel: boolean;
  assistantPrefix: boolean;
  nameDecoration: number;
  fence: boolean;
  singleQuotes: boolean;
  indent: boolean;
  commentary: string;
  crlf: boolean;
}

const messArb: fc.Arbitrary<Mess> = fc.record({
  pad: fc.constantFrom('', ' ', '  ', '\t', '\n'),
  hpad: fc.constantFrom('', ' ', '  ', '\t'),
  thoughtLabel: fc.boolean(),
  assistantPrefix: fc.boolean(),
  nameDecoration: fc.integer({ min: 0, max: 4 }),
  fence: fc.boolean(),
  singleQuotes: fc.boolean(),
  indent: fc.boolean(),
  commentary: fc.constantFrom(
    '',
    ' I hope this works.',
    '\nThis will return the results.',
    ' (optional fields left out)',
  ),
  crlf: fc.boolean(),
});

function decorate(name: string, how: number): string {
  return [name, `\`${name}\``, `"${name}"`, `'${name}'`, `${name}()`][how] ?? name;
}

function render(thought: string, name: string, args: Record<string, unknown>, m: Mess): string {
  const p = m.assistantPrefix ? 'ASSISTANT ' : '';
  let json = m.singleQuotes ? pyRepr(args) : JSON.stringify(args, null, m.indent ? 2 : undefined);
  if (m.fence) json = `\`\`\`json\n${json}\n\`\`\``;
  const head = thought === '' ? '' : `${m.thoughtLabel ? `${p}Thought: ` : ' '}${thought}${m.pad}\n`;
  const text = `${head}${p}Action:${m.hpad} ${decorate(name, m.nameDecoration)}${m.pad}\n${p}Action Input:${m.hpad} ${json}${m.commentary}${m.pad}`;
  return m.crlf ? text.replace(/\n/g, '\r\n') : text;
}

describe('parseReactOutput: property-based', () => {
  test('recovers the action name and deep-equal arguments from messy renderings', () => {
    fc.assert(
      fc.property(thoughtText, identifier, argsArb, messArb, (thought, name, args, mess) => {
        const turn = parseReactOutput(render(thought, name, args, mess));
        assert.equal(turn.kind, 'action');
        if (turn.kind !== 'action') return;
        assert.equal(turn.action, name);
        assert.deepEqual(turn.args, args);
        assert.deepEqual(JSON.parse(turn.argsText ?? 'null'), args);
        assert.equal(turn.thought, thought);
      }),
      { numRuns: 400 },
    );
  });

  test('recovers final answers', () => {
    fc.assert(
      fc.property(
        thoughtText,
        fc.array(word, { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (thought, words, assistant) => {
          const answer = words.join(' ');
          const marker = assistant ? 'ASSISTANT Response:' : 'Final Answer:';
          const turn = parseReactOutput(` ${thought}\n${marker} ${answer}\n`);
          assert.deepEqual(turn, { kind: 'final', thought, answer });
        },
      ),
      { numRuns: 200 },
    );
  });

  test('never throws on arbitrary strings, and always returns one of the three kinds', () => {
    const keywords = fc.constantFrom(
      'Action:',
      'Action Input:',
      'Final Answer:',
      'ASSISTANT Response:',
      'Thought:',
      '\nObservation:',
      '{',
      '}',
      '[',
      "'",
      '"',
      '\\',
      '```',
      '\n',
    );
    const messy = fc
      .array(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), keywords), { maxLength: 30 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(messy, fc.string({ unit: 'binary' })), (text) => {
        const turn = parseReactOutput(text);
        assert.ok(['action', 'final', 'invalid'].includes(turn.kind));
        if (turn.kind === 'action' && turn.args !== undefined) assert.equal(typeof turn.args, 'object');
      }),
      { numRuns: 1000 },
    );
  });
});
