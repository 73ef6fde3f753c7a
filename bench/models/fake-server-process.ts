/**
 * Runs the fake OpenAI-compatible server in its own process for the model-layer benchmark, so that the
 * benchmark's CPU measurements (process.cpuUsage) contain only the client side.
 *
 *   node --import tsx bench/models/fake-server-process.ts [LATENCY_MS]
 *
 * Prints one JSON line `{"baseUrl": "..."}` when listening; exits when its stdin closes.
 */
import { startFakeOpenAI } from '../../test/helpers/fake-openai-server.js';

const latencyMs = Number(process.argv[2] ?? '0');
const server = await startFakeOpenAI({ latencyMs, record: false });
process.stdout.write(`${JSON.stringify({ baseUrl: server.baseUrl })}\n`);
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
process.stdin.resume();
