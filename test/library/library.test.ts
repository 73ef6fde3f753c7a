/**
 * The package as a library, as a user gets it: `npm pack`, the tarball installed in an empty project
 * (optional dependencies and install scripts left out: node-llama-cpp is optional, and nothing here opens
 * the response cache), every example of docs/library.md compiled with `tsc --strict` (NodeNext) against
 * it, then run: the complete program against the fake OpenAI server, the others on its output, the queue
 * example on a real redis-server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readToolAlpacaFile } from '../../src/formats/toolalpaca-json.js';
import { readTools } from '../../src/formats/read-tools.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { makeTempDir, repoRoot } from '../helpers/paths.js';
import { redisTestOptions, startRedis } from '../helpers/redis-server.js';
import { planCalls, worldResponder } from '../pipeline/fake-agents.js';

const execFileAsync = promisify(execFile);
const TOOLS = join(repoRoot, 'test', 'fixtures', 'openapi', 'notes-openapi31.json');

async function run(
  file: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(file, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${[file, ...args].join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`,
      {
        cause: error,
      },
    );
  }
}

/** The examples of docs/library.md: each code block announced by `<!-- example: NAME.ts -->`. */
function docExamples(): Map<string, string> {
  const text = readFileSync(join(repoRoot, 'docs', 'library.md'), 'utf8');
  const examples = new Map<string, string>();
  for (const match of text.matchAll(/<!-- example: ([\w-]+\.ts) -->\s*```ts\n([\s\S]*?)```/g)) {
    examples.set(match[1]!, match[2]!);
  }
  return examples;
}

let project: string;
let packs: string;
let server: FakeOpenAI;

const node = (script: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [join(project, 'out', script), ...args], { cwd: project, env });

before(async () => {
  packs = makeTempDir('toolalpaca-pack-');
  // The build is current (the test runner builds first); scripts would only build again.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packs], { cwd: repoRoot });
  const tarball = readdirSync(packs).find((name) => name.endsWith('.tgz')) ?? assert.fail('no tarball');
  project = makeTempDir('toolalpaca-library-');
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
  );
  await run(
    'npm',
    [
      'install',
      join(packs, tarball),
      '--omit=optional',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
    ],
    { cwd: project },
  );
  mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
  symlinkSync(
    join(repoRoot, 'node_modules', '@types', 'node'),
    join(project, 'node_modules', '@types', 'node'),
    'dir',
  );
  const examples = docExamples();
  for (const [name, code] of examples) writeFileSync(join(project, name), code);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        types: ['node'],
        outDir: 'out',
        rootDir: '.',
      },
      files: [...examples.keys()],
    }),
  );
  server = await startFakeOpenAI();
  const { tools } = await readTools(TOOLS);
  server.setDefault(worldResponder(planCalls(tools)));
});

after(async () => {
  await server?.close();
  // The installed project holds about 110 MB of dependencies.
  for (const dir of [project, packs]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('docs/library.md against the packed package', () => {
  test('the tarball installed without optional dependencies has no node-llama-cpp and no deep imports', () => {
    assert.ok(existsSync(join(project, 'node_modules', 'toolalpaca', 'dist', 'testing', 'index.js')));
    assert.equal(existsSync(join(project, 'node_modules', 'node-llama-cpp')), false);
  });

  test('every example compiles with tsc --strict (NodeNext), the complete program first', async () => {
    const names = [...docExamples().keys()];
    assert.equal(names[0], 'generate-corpus.ts');
    assert.deepEqual(names.slice(1).sort(), [
      'custom-backend.ts',
      'custom-executor.ts',
      'export-corpus.ts',
      'queue-words.ts',
      'scripted-run.ts',
      'serve-tools.ts',
      'verify-corpus.ts',
      'view-files.ts',
    ]);
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    for (const name of names) assert.ok(existsSync(join(project, 'out', name.replace(/\.ts$/, '.js'))));
  });

  test('the complete program generates a ToolAlpaca corpus from the fake server; export reads it', async () => {
    const out = join(project, 'corpus.json');
    const { stdout } = await node('generate-corpus.js', [TOOLS, out], {
      TOOLALPACA_MODEL: 'openai:fake-model',
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_API_KEY: 'k',
    });
    assert.match(stdout, /^1 tools$/m);
    assert.match(stdout, /^2 instances, 0 failed, written to /m);
    const [record] = await readToolAlpacaFile(out);
    assert.equal(record?.Name, 'Notes');
    assert.equal(record?.Instructions?.length, 2);
    assert.equal(record?.Instances?.length, 2);
    assert.ok(
      (record?.Instances?.[0]?.intermediate_steps?.length ?? 0) >= 1,
      'the assistant called a function',
    );

    const exported = await node('export-corpus.js', [out, join(project, 'sft')]);
    assert.match(exported.stdout, /train\.jsonl/);
    const train = readFileSync(join(project, 'sft', 'train.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(train.length, 2);
    assert.ok(Array.isArray((JSON.parse(train[0]!) as { conversations?: unknown }).conversations));
  });

  test('a custom backend, a custom executor and a scripted run', async () => {
    const backend = await node('custom-backend.js', []);
    assert.equal(backend.stdout, 'fixed:demo: {"answer":42}\n');
    const executor = await node('custom-executor.js', []);
    assert.equal(executor.stdout, 'current: 200 from replay\nforecast: 200 from schema\n');
    const scripted = await node('scripted-run.js', [TOOLS, join(project, 'scripted.json')]);
    assert.equal(scripted.stdout, '2 instances from 3 model calls\n');
  });

  test(
    'toolalpaca/queue from the tarball: a worker and a producer on a real redis-server',
    redisTestOptions(),
    async () => {
      const redis = await startRedis(makeTempDir('toolalpaca-library-redis-'));
      try {
        const { stdout } = await node('queue-words.js', ['one two three', 'four five', 'six'], {
          REDIS_URL: redis.url,
        });
        assert.equal(stdout, 'text-0 3\ntext-1 2\ntext-2 1\n');
      } finally {
        await redis.stop();
      }
    },
  );

  test('toolalpaca/verify, /serve with /mcp, and /view from the tarball', async () => {
    const corpus = join(project, 'to-verify.json');
    await node('scripted-run.js', [TOOLS, corpus]);
    const verified = await node('verify-corpus.js', [corpus, join(project, 'verified.json')]);
    assert.match(
      verified.stdout,
      /^2\/2 verified, \d+ passed; report in .*verified\.json\.verification\.md\n$/,
    );
    const served = await node('serve-tools.js', [TOOLS]);
    assert.equal(served.stdout, '4 functions over MCP\nlistNotes: ok\n');
    const viewed = await node('view-files.js', [corpus]);
    assert.equal(viewed.stdout, `${corpus}: 2 items\n`);
  });
});
