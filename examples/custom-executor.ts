/**
 * A custom executor registered from outside the package: `fixture` answers from a table of canned
 * observations and says "cannot answer" (404 with `error`) for anything else, so that a chain falls
 * through to the next executor. Here the chain is fixture → schema: canned answers where there are
 * some, schema-valid fake data elsewhere.
 *
 * Build the package first (`npm run build`), then:
 *   npx tsc --strict --module nodenext --moduleResolution nodenext --outDir /tmp/example examples/custom-executor.ts
 *   node /tmp/example/custom-executor.js
 */
import { httpFunction, type Tool } from 'toolalpaca';
import {
  createExecutor,
  prepareCall,
  registerExecutor,
  type Observation,
  type ToolExecutor,
} from 'toolalpaca/executors';

/** This executor's group of options: `createExecutor(name, { fixture: { answers } })`. */
interface FixtureOptions {
  /** Canned response bodies by function name. */
  answers: Record<string, unknown>;
}

function createFixtureExecutor(options: FixtureOptions | undefined): ToolExecutor {
  const answers = options?.answers ?? {};
  return {
    kind: 'fixture',
    async execute(tool, functionName, args): Promise<Observation> {
      // The same argument check every built-in executor runs: bad calls get 400 with the reasons.
      const prepared = prepareCall(tool, functionName, args, 'replay');
      if (!prepared.ok) return prepared.observation;
      if (!(functionName in answers)) {
        const error = `no fixture for ${tool.name}.${functionName}`;
        return { status: 404, body: { error }, headers: {}, source: 'replay', latencyMs: 0, error };
      }
      return { status: 200, body: answers[functionName], headers: {}, source: 'replay', latencyMs: 0 };
    },
  };
}

registerExecutor<FixtureOptions>({
  name: 'fixture',
  description: 'canned answers by function name',
  create: (options) => createFixtureExecutor(options),
});

const weather: Tool = {
  name: 'Weather',
  description: 'Current weather and forecasts.',
  auth: [],
  servers: ['https://weather.example.com'],
  functions: [
    httpFunction({
      name: 'current',
      nameDerived: false,
      method: 'get',
      path: '/current',
      parameters: [{ name: 'city', in: 'query', required: true, schema: { type: 'string' } }],
      response: {
        status: '200',
        schema: {
          type: 'object',
          properties: { temperature: { type: 'number' } },
          required: ['temperature'],
        },
      },
    }),
    httpFunction({
      name: 'forecast',
      nameDerived: false,
      method: 'get',
      path: '/forecast',
      parameters: [{ name: 'city', in: 'query', required: true, schema: { type: 'string' } }],
      response: {
        status: '200',
        schema: { type: 'array', items: { type: 'number' }, maxItems: 3 },
      },
    }),
  ],
};

const executor = await createExecutor('chain', {
  fixture: { answers: { current: { temperature: 21.5 } } },
  chain: { order: ['fixture', 'schema'] },
});
for (const name of ['current', 'forecast']) {
  const observation = await executor.execute(weather, name, { city: 'Bergen' });
  console.log(
    `${name}: ${observation.status} from ${observation.source}: ${JSON.stringify(observation.body)}`,
  );
}
await executor.close?.();
