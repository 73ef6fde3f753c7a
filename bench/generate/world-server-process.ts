/**
 * The fake OpenAI-compatible server scripted as the generation "world" (assistant, executor, user; see
 * test/pipeline/fake-agents.ts), in its own process so that the generation benchmark's client does not
 * share its event loop with the server.
 *
 *   node --import tsx bench/generate/world-server-process.ts TOOLS_FILE [LATENCY_MS]
 *
 * Prints one JSON line `{"baseUrl": "..."}` when listening; a line `latency N` on stdin changes the
 * latency; exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { startFakeOpenAI } from '../../test/helpers/fake-openai-server.js';
import { planCalls, worldResponder } from '../../test/pipeline/fake-agents.js';
import { loadGenerationTools } from '../../src/pipeline/generate.js';

const toolsFile = process.argv[2];
if (toolsFile === undefined) throw new Error('usage: world-server-process.ts TOOLS_FILE [LATENCY_MS]');
const server = await startFakeOpenAI({ latencyMs: Number(process.argv[3] ?? '0'), record: false });
const { tools } = await loadGenerationTools(toolsFile);
server.setDefault(worldResponder(planCalls(tools.map((t) => t.tool))));
process.stdout.write(`${JSON.stringify({ baseUrl: server.baseUrl })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const match = /^latency (\d+)$/.exec(line.trim());
  if (match !== null) {
    server.setLatency(Number(match[1]));
    process.stdout.write('ok\n');
  }
});
lines.on('close', () => {
  void server.close().then(() => process.exit(0));
});
