import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { GoldenAnswerStep, RunStep } from '../../src/core/run.js';
import type { ToolAlpacaRecord } from '../../src/core/toolalpaca-record.js';
import {
  callOutcome,
  checkProcess,
  isCodeOf,
  isMentioned,
  isPlaceholder,
  isPronoun,
  parseStandardParameters,
  prepareInstruction,
  readStandardSteps,
  sameScalar,
  valueMismatch,
} from '../../src/eval/deterministic/index.js';
import { sharedData } from '../helpers/paths.js';

const OK = 'Status Code: 200. Response: {"ok":true}';
const REJECTED =
  'Parameter type error: "style", expected one of [\'minimal\', \'grunge\'], but got "cute". You need to change the input and try again.';

function golden(action: string, input: unknown): GoldenAnswerStep {
  return { Action: action, Action_Input: typeof input === 'string' ? input : JSON.stringify(input) };
}

function call(action: string, input: unknown, observation = OK): RunStep {
  return { action, actionInput: typeof input === 'string' ? input : JSON.stringify(input), observation };
}

function check(instruction: string, goldenAnswers: GoldenAnswerStep[], steps: RunStep[]) {
  return checkProcess({ instruction, goldenAnswers, steps });
}

describe('standard steps', () => {
  test('a solution that performs every step is correct', () => {
    const r = check(
      'Show me 3 facts about the habitat',
      [golden('getFacts', { category: 'habitat', limit: 3 })],
      [call('getFacts', { category: 'habitat', limit: 3 })],
    );
    assert.equal(r.correct, true, r.reasons.join('; '));
    assert.deepEqual(r.matches, [0]);
  });

  test('a missing standard step makes the process wrong, naming the step', () => {
    const r = check(
      'Find "Naruto" and list its cast',
      [
        golden('searchAnime', { query: 'Naruto' }),
        golden('getCast', '{"animeId": ${animeId from searchAnime}}'),
      ],
      [call('getCast', { animeId: 12 })],
    );
    assert.equal(r.correct, false);
    assert.match(r.reasons.join('\n'), /step 1 searchAnime: never called/);
  });

  test('no calls at all when the standard answer has steps is wrong', () => {
    const r = check('Give me a random image', [golden('getRandomImage', {})], []);
    assert.equal(r.correct, false);
  });

  test('an empty standard answer with no calls is correct', () => {
    assert.equal(check('Hello', [], []).correct, true);
  });

  test('[Optional] steps may be skipped, and count when performed', () => {
    const std = [golden('getProfile', { userId: 'u1' }), golden('[Optional]updateProfile', { userId: 'u1' })];
    const skipped = check('My id is "u1"; update my profile if needed', std, [
      call('getProfile', { userId: 'u1' }),
    ]);
    assert.equal(skipped.correct, true);
    assert.match(skipped.reasons.join('\n'), /optional step 2 updateProfile skipped/);
    const done = check('My id is "u1"; update my profile if needed', std, [
      call('getProfile', { userId: 'u1' }),
      call('updateProfile', { userId: 'u1' }),
    ]);
    assert.equal(done.correct, true);
    assert.deepEqual(done.matches, [0, 1]);
  });

  test('independent steps may come in any order', () => {
    const std = [golden('getQuote', { symbol: 'EUR' }), golden('getQuote', { symbol: 'GBP' })];
    const r = check('Quotes for EUR and GBP', std, [
      call('getQuote', { symbol: 'GBP' }),
      call('getQuote', { symbol: 'EUR' }),
    ]);
    assert.equal(r.correct, true);
    assert.deepEqual(r.matches, [1, 0]);
  });

  test('a step using ${x from f} must come after the call of f', () => {
    const std = [
      golden('searchAnime', { query: 'Naruto' }),
      golden('getCast', '{"animeId": ${animeId from searchAnime}}'),
    ];
    assert.deepEqual(readStandardSteps(std)[1]?.dependsOn, [0]);
    const found = 'Status Code: 200. Response: [{"animeId": 7, "title": "Naruto"}]';
    const inOrder = check('Cast of "Naruto"', std, [
      call('searchAnime', { query: 'Naruto' }, found),
      call('getCast', { animeId: 7 }),
    ]);
    assert.equal(inOrder.correct, true, inOrder.reasons.join('; '));
    // The id is in the instruction too, so only the order is wrong here.
    const reversed = check('Cast of "Naruto" (anime 7)', std, [
      call('getCast', { animeId: 7 }),
      call('searchAnime', { query: 'Naruto' }, found),
    ]);
    assert.equal(reversed.correct, false);
    assert.match(reversed.reasons.join('\n'), /order/);
  });

  test('two identical standard steps need two calls', () => {
    const std = [
      golden('listMembers', { serverId: 's1' }),
      golden('generateAvatar', '{"userId": ${userId from listMembers}, "style": "cute"}'),
      golden('generateAvatar', '{"userId": ${userId from listMembers}, "style": "cute"}'),
    ];
    const instruction = 'Make cute avatars for the two first fans of server "s1"';
    const members = call(
      'listMembers',
      { serverId: 's1' },
      'Status Code: 200. Response: [{"id": 11}, {"id": 12}]',
    );
    assert.equal(
      check(instruction, std, [members, call('generateAvatar', { userId: 11, style: 'cute' })]).correct,
      false,
    );
    const both = check(instruction, std, [
      members,
      call('generateAvatar', { userId: 11, style: 'cute' }),
      call('generateAvatar', { userId: 12, style: 'cute' }),
    ]);
    assert.equal(both.correct, true, both.reasons.join('; '));
  });
});

describe('other calls', () => {
  const std = [golden('checkIP', { ip: '10.0.0.2' })];
  const instruction = 'Check the reputation of 10.0.0.2';

  test('getDetails and retrievalDataFromFile are allowed', () => {
    const r = check(instruction, std, [
      call('getDetails', { Question: 'Which IP?' }, 'The IP is 10.0.0.2'),
      call(
        'checkIP',
        { ip: '10.0.0.2' },
        'The output is too long. You need to use the retrievalDataFromFile function.',
      ),
      call('retrievalDataFromFile', { file_path: './f.json', query: 'score' }),
    ]);
    assert.equal(r.correct, true, r.reasons.join('; '));
  });

  test('a failed call followed by a corrected call of the same function is a retry', () => {
    const r = check(instruction, std, [
      call('checkIP', { ip: '10.0.0' }, 'Status Code: 400. Response: {"error":"bad ip"}'),
      call('checkIP', { ip: '10.0.0.2' }),
    ]);
    assert.equal(r.correct, true, r.reasons.join('; '));
    assert.match(r.reasons.join('\n'), /failed and retried/);
  });

  test('a rejected call with the standard parameters, adjusted to what the API accepts, performs the step', () => {
    const r = check(
      'Make a cute avatar in jpg for user 42',
      [golden('generateAvatar', { userId: 42, style: 'cute', format: 'jpg' })],
      [
        call('generateAvatar', { userId: 42, style: 'cute', format: 'jpg' }, REJECTED),
        call('generateAvatar', { userId: 42, style: 'minimal', format: 'jpg' }),
      ],
    );
    assert.equal(r.correct, true, r.reasons.join('; '));
    assert.deepEqual(r.matches, [1]);
  });

  test('a rejected call that is never retried performs nothing', () => {
    const r = check(
      'Make a cute avatar for user 42',
      [golden('generateAvatar', { userId: 42, style: 'cute' })],
      [call('generateAvatar', { userId: 42, style: 'cute' }, REJECTED)],
    );
    assert.equal(r.correct, false);
    assert.match(r.reasons.join('\n'), /rejected/);
  });

  test('a call the API answered with an HTTP error still performs the step', () => {
    const r = check(
      'Details of anime 123456',
      [golden('getAnimeDetails', { animeId: 123456 })],
      [call('getAnimeDetails', { animeId: 123456 }, 'Status Code: 404. Response: {"error":"not found"}')],
    );
    assert.equal(r.correct, true);
  });

  test('a call of an unrelated function with invented arguments is not allowed', () => {
    const r = check(instruction, std, [
      call('checkIP', { ip: '10.0.0.2' }),
      call('getHolidays', { country: 'India' }),
    ]);
    assert.equal(r.correct, false);
    assert.match(r.reasons.join('\n'), /call 2 getHolidays: a function the standard answer does not use/);
  });

  test('an extra call of a related function (arguments from the instruction or earlier returns) is allowed', () => {
    const fromInstruction = check(instruction, std, [
      call('checkIP', { ip: '10.0.0.2' }),
      call('reportIP', { ip: '10.0.0.2' }),
    ]);
    assert.equal(fromInstruction.correct, true, fromInstruction.reasons.join('; '));
    const fromReturn = check(instruction, std, [
      call('checkIP', { ip: '10.0.0.2' }, 'Status Code: 200. Response: {"reportId": 987654}'),
      call('getReport', { reportId: 987654 }),
    ]);
    assert.equal(fromReturn.correct, true, fromReturn.reasons.join('; '));
  });

  test('repeating a call that already succeeded is not allowed', () => {
    const r = check(instruction, std, [
      call('checkIP', { ip: '10.0.0.2' }),
      call('checkIP', { ip: '10.0.0.2' }),
    ]);
    assert.equal(r.correct, false);
    assert.match(r.reasons.join('\n'), /repeats call 1/);
  });

  test('a solution whose calls were all rejected is wrong', () => {
    const r = check(instruction, std, [
      call(
        'checkIP',
        '{ip: 10.0.0.2',
        "Invalid JSON format. Please ensure 'Action Input' is a valid JSON object.",
      ),
      call('checkIP', { ip: 'x' }, REJECTED),
    ]);
    assert.equal(r.correct, false);
  });

  test('with the tool given, an action that is not one of its functions is a rejected call', () => {
    const tool = { name: 'AbuseIPDB', functions: [{ name: 'checkIP' }] } as unknown as Parameters<
      typeof checkProcess
    >[1];
    const r = checkProcess(
      {
        instruction,
        goldenAnswers: std,
        steps: [call('check_ip', { ip: '10.0.0.2' }), call('checkIP', { ip: '10.0.0.2' })],
      },
      tool,
    );
    assert.equal(r.correct, true, r.reasons.join('; '));
  });

  test('observations are classified', () => {
    assert.equal(callOutcome(OK), 'ok');
    assert.equal(callOutcome('Status Code: 500. Response: {}'), 'http-error');
    assert.equal(callOutcome(REJECTED), 'rejected');
    assert.equal(callOutcome('`foo` is not a valid action. The action must be one of [...]'), 'rejected');
    assert.equal(callOutcome('I prefer cute avatars.'), 'ok');
  });
});

describe('parameters', () => {
  const text = prepareInstruction(
    'Find 3 facts about the "Your Lie in April." anime in Canada; my id is G-User123, limit five, categories "brute-force" and "DDoS". Habitats please.',
  );

  test('a value is necessary only when the instruction mentions it', () => {
    assert.equal(isMentioned('Your Lie in April.', text), true);
    assert.equal(isMentioned('g-user123', text), true);
    assert.equal(isMentioned('habitat', text), true, 'plural in the instruction');
    assert.equal(isMentioned('habit', text), false, 'whole words only');
    assert.equal(
      isMentioned('delete_content', prepareInstruction('permissions to edit and delete content')),
      false,
    );
    assert.equal(isMentioned(3, text), true);
    assert.equal(isMentioned('5', text), true, 'number words count');
    assert.equal(isMentioned(10, text), false);
    assert.equal(
      isMentioned(1, prepareInstruction('which one did I see?')),
      false,
      '"one" is not a quantity',
    );
    assert.equal(isMentioned('', text), false);
    assert.equal(isMentioned(null, text), false);
    assert.equal(isMentioned(true, text), false);
    assert.equal(isMentioned(['brute-force', 'spam'], text), true);
  });

  test('necessary values compare after normalisation', () => {
    assert.equal(valueMismatch('Your Lie in April.', 'your lie in april', text), undefined);
    assert.equal(valueMismatch(3, '3', text), undefined);
    assert.equal(valueMismatch('3', 3.0, text), undefined);
    assert.match(valueMismatch(3, 10, text) ?? '', /10 ≠ 3/);
    assert.equal(
      valueMismatch(['brute-force', 'DDoS'], ['ddos', 'Brute-Force'], text),
      undefined,
      'lists as sets',
    );
    assert.equal(
      valueMismatch(['brute-force', 'DDoS'], 'DDoS, brute-force', text),
      undefined,
      'comma string as list',
    );
    assert.match(valueMismatch(['brute-force', 'DDoS'], ['DDoS'], text) ?? '', /lacks "brute-force"/);
    assert.match(
      valueMismatch(['brute-force', 'DDoS'], ['DDoS', 'brute-force', 'spam'], text) ?? '',
      /extra "spam"/,
    );
    assert.equal(valueMismatch('Canada', 'CA', text), undefined, 'a code of the name');
    assert.equal(valueMismatch(3, undefined, text), 'missing');
  });

  test('values the instruction does not mention may differ or be missing', () => {
    assert.equal(valueMismatch(10, 50, text), undefined);
    assert.equal(valueMismatch('A dashboard to track sales', 'Sales view', text), undefined);
    assert.equal(valueMismatch('', 'male', text), undefined);
    assert.equal(valueMismatch(null, undefined, text), undefined);
  });

  test('objects compare member by member', () => {
    assert.equal(
      valueMismatch({ user: 'G-User123', page: 2 }, { user: 'g-user123', page: 9 }, text),
      undefined,
    );
    assert.match(valueMismatch({ user: 'G-User123' }, { user: 'someone' }, text) ?? '', /^user: /);
  });

  test('a step with a wrong necessary parameter is not performed', () => {
    const r = check(
      'Three facts about the habitat',
      [golden('getFacts', { category: 'habitat', limit: 3 })],
      [call('getFacts', { category: 'habits', limit: 3 })],
    );
    assert.equal(r.correct, false);
    assert.match(r.reasons.join('\n'), /category: "habits" ≠ "habitat"/);
  });

  test('scalar equality', () => {
    assert.equal(sameScalar(true, 'True'), true);
    assert.equal(sameScalar('GOLD,BTC', 'btc, gold'), true);
    assert.equal(sameScalar('Paris', 'Lyon'), false);
    assert.equal(sameScalar(3, 'three'), false);
    assert.equal(isCodeOf('NY', 'New York'), true);
    assert.equal(isCodeOf('CA', 'Canada'), true);
    assert.equal(isCodeOf('DE', 'Germany'), false);
    assert.equal(isCodeOf('ny', 'New York'), false);
  });

  test('placeholders in the standard answer match any value', () => {
    const r = check(
      'Holidays in Germany next year',
      [golden('getHolidays', '{"country": "Germany", "year": ${a certain year}}')],
      [call('getHolidays', { country: 'Germany', year: 2031 })],
    );
    assert.equal(r.correct, true);
  });
});

describe('rules added in wave 2 (each hand-made case fails without its rule)', () => {
  test('rule 7: an extra call that guesses a name the user never gave is random, even if another argument is about the task', () => {
    const std = [golden('findRecipes', { dish: 'lasagne' })];
    const instruction = 'Find me recipes for lasagne';
    const guessed = check(instruction, std, [
      call('findRecipes', { dish: 'lasagne' }, 'Status Code: 500. Response: {"error":"busy"}'),
      call('listRecipesByCuisine', { cuisine: 'Portuguese', dish: 'lasagne' }),
    ]);
    assert.equal(guessed.correct, false);
    assert.match(guessed.reasons.join('\n'), /call 2 listRecipesByCuisine: .*unrelated/);
    // The same call with its name taken from an earlier return is related, and short codes (`en`) or
    // numbers are formats and defaults, not guesses.
    const grounded = check(instruction, std, [
      call(
        'findRecipes',
        { dish: 'lasagne' },
        'Status Code: 200. Response: [{"dish": "lasagne", "cuisine": "Italian"}]',
      ),
      call('listRecipesByCuisine', { cuisine: 'Italian', dish: 'lasagne', lang: 'en', limit: 5 }),
    ]);
    assert.equal(grounded.correct, true, grounded.reasons.join('; '));
  });

  test('rule 9: a value the standard answer takes from a return must come from a return, not be made up', () => {
    const std = [
      golden('searchBook', { title: 'Dune' }),
      golden('getReviews', '{"bookId": ${bookId from searchBook}}'),
    ];
    const instruction = 'Show me reviews of the book "Dune"';
    const search = call(
      'searchBook',
      { title: 'Dune' },
      'Status Code: 200. Response: [{"bookId": "bk-881", "title": "Dune"}]',
    );
    const madeUp = check(instruction, std, [search, call('getReviews', { bookId: 'bk-001' })]);
    assert.equal(madeUp.correct, false);
    assert.match(madeUp.reasons.join('\n'), /bookId: "bk-001" is not the value searchBook returned/);
    const taken = check(instruction, std, [search, call('getReviews', { bookId: 'bk-881' })]);
    assert.equal(taken.correct, true, taken.reasons.join('; '));
    // A value from getDetails is the user's reply in their own words: it is not held to a literal match.
    const asked = check(
      'Give my account a new theme',
      [
        golden('getDetails', { Question: 'Which account and theme?' }),
        golden('setTheme', '{"account": ${account from getDetails}, "theme": "dark"}'),
      ],
      [
        call('getDetails', { Question: 'Which account and theme?' }, 'It is my work account, dark please.'),
        call('setTheme', { account: 'work-account', theme: 'dark' }),
      ],
    );
    assert.equal(asked.correct, true, asked.reasons.join('; '));
  });

  test('rule 4: a standard value that is only a pronoun is not a necessary parameter', () => {
    const text = prepareInstruction('Share the board with me and my design group');
    assert.equal(isPronoun('Me'), true);
    assert.equal(isPronoun('design group'), false);
    assert.equal(isMentioned('me', text), false);
    assert.equal(isMentioned('design group', text), true);
    const std = [golden('shareBoard', { boardId: 'b7', members: ['me', 'design group'] })];
    const r = check('Share board b7 with me and my design group', std, [
      call('shareBoard', { boardId: 'b7', members: ['alice', 'design_group'] }),
    ]);
    assert.equal(r.correct, true, r.reasons.join('; '));
    const without = check('Share board b7 with me and my design group', std, [
      call('shareBoard', { boardId: 'b7', members: ['alice'] }),
    ]);
    assert.equal(without.correct, false);
  });

  test("rule 10: a value in the form an earlier return gave it, containing the user's value, performs the step", () => {
    const std = [
      golden('validateParcel', { street: '9 Birch Lane', unit: 'Unit 5', postcode: 'K1A 0B1' }),
      golden('bookPickup', { street: '9 Birch Lane', unit: 'Unit 5', postcode: 'K1A 0B1' }),
    ];
    const instruction = 'Check the parcel address 9 Birch Lane, Unit 5, K1A 0B1 and then book a pickup there';
    const validated = call(
      'validateParcel',
      { street: '9 Birch Lane', unit: 'Unit 5', postcode: 'K1A 0B1' },
      'Status Code: 200. Response: {"street": "9 BIRCH LANE UNIT 5", "postcode": "K1A 0B1"}',
    );
    const returnedForm = check(instruction, std, [
      validated,
      call('bookPickup', { street: '9 BIRCH LANE UNIT 5', unit: '', postcode: 'K1A 0B1' }),
    ]);
    assert.equal(returnedForm.correct, true, returnedForm.reasons.join('; '));
    // The same merged form that no return gave is the assistant's own rewriting: not accepted.
    const ownForm = check(instruction, std, [
      call('validateParcel', { street: '9 Birch Lane', unit: 'Unit 5', postcode: 'K1A 0B1' }),
      call('bookPickup', { street: '9 BIRCH LANE UNIT 5', unit: '', postcode: 'K1A 0B1' }),
    ]);
    assert.equal(ownForm.correct, false);
    // Leaving a value out is not an adjustment just because the word occurs in another argument.
    const dropped = check(
      'Create a postgres connection named "Orders" with postgres://db/orders',
      [golden('createConnection', { name: 'Orders', url: 'postgres://db/orders', engine: 'postgres' })],
      [call('createConnection', { name: 'Orders', url: 'postgres://db/orders' })],
    );
    assert.equal(dropped.correct, false);
  });
});

describe('reading standard parameters', () => {
  test('placeholders written in every way ToolAlpaca wrote them', () => {
    const cases: [string, Record<string, unknown>][] = [
      [
        '{"animeId": ${animeId from searchAnime}}',
        { animeId: { placeholder: 'animeId from searchAnime', from: 'searchAnime' } },
      ],
      [
        '{"startDate": ${start date of a month}", "page": 1}',
        { startDate: { placeholder: 'start date of a month' }, page: 1 },
      ],
      ['{"permissionName": "${string}"}', { permissionName: { placeholder: 'string' } }],
      [
        '{"startDate": "{start date}", "endDate": ${end date}}',
        { startDate: { placeholder: 'start date' }, endDate: { placeholder: 'end date' } },
      ],
      [
        '{"permissions": [${some permission}], "users": ["a"]}',
        { permissions: [{ placeholder: 'some permission' }], users: ['a'] },
      ],
      [
        '{"userId": ${userId from authenticateUser, "accessToken": ${accessToken from authenticateUser}}',
        {
          userId: { placeholder: 'userId from authenticateUser', from: 'authenticateUser' },
          accessToken: { placeholder: 'accessToken from authenticateUser', from: 'authenticateUser' },
        },
      ],
    ];
    for (const [input, expected] of cases) {
      const parsed = parseStandardParameters(input);
      assert.ok(parsed.ok, input);
      assert.deepEqual(parsed.params, expected, input);
    }
    assert.equal(isPlaceholder({ placeholder: 'x' }), true);
    assert.equal(isPlaceholder({ placeholder: 'x', other: 1 }), false);
  });

  test('every golden answer of the shared evaluation sets reads, and performing it exactly is judged correct', () => {
    for (const file of ['toolalpaca/eval_simulated.json', 'toolalpaca/eval_real.json']) {
      const records = JSON.parse(readFileSync(sharedData(file), 'utf8')) as ToolAlpacaRecord[];
      let checked = 0;
      for (const record of records) {
        for (const [i, instruction] of (record.Instructions ?? []).entries()) {
          const std = record.Golden_Answers?.[i] ?? [];
          const steps = readStandardSteps(std);
          for (const step of steps) assert.ok(step.params.ok, `${file} ${record.Name}#${i} ${step.action}`);
          // The standard answer itself, placeholders filled with a value that the returns carry, as the
          // solution.
          const solution = steps.map((step) =>
            call(
              step.action,
              JSON.stringify(step.params.ok ? fill(step.params.params) : {}),
              'Status Code: 200. Response: {"value": "some value"}',
            ),
          );
          const r = check(instruction, std, solution);
          assert.equal(r.correct, true, `${file} ${record.Name}#${i}: ${r.reasons.join('; ')}`);
          checked++;
        }
      }
      assert.ok(checked >= 100, `${file}: ${checked} instructions`);
    }
  });

  test('any order of independent calls is judged correct (property)', () => {
    const std = [
      golden('getSpecificVerse', { book: 'John', chapter: 3, verse: 16, version: 'King James Version' }),
      golden('getSpecificVerse', {
        book: 'John',
        chapter: 3,
        verse: 16,
        version: 'New International Version',
      }),
      golden('getSpecificVerse', { book: 'John', chapter: 3, verse: 17, version: 'King James Version' }),
      golden('getRandomVerse', {}),
    ];
    const instruction =
      'John 3:16 and 3:17 in the King James Version, 3:16 in the New International Version, and a random verse';
    const calls = std.map((s) => call(s.Action, s.Action_Input));
    fc.assert(
      fc.property(
        fc.shuffledSubarray(calls, { minLength: calls.length, maxLength: calls.length }),
        (order) => {
          assert.equal(check(instruction, std, order).correct, true);
        },
      ),
      { numRuns: 50 },
    );
  });
});

function fill(value: unknown): unknown {
  if (isPlaceholder(value)) return 'some value';
  if (Array.isArray(value)) return value.map(fill);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
  }
  return value;
}
