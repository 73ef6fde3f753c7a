/**
 * The setup the agent and search tests share: the fake OpenAI server, a chat model on it (no cache,
 * no retries, so every call reaches the server's script) and the offline schema executor.
 */
import { createExecutor } from '../../src/executors/create-executor.js';
import type { ToolExecutor } from '../../src/executors/executor.js';
import { createChatModel, type CreatedChatModel } from '../../src/models/create-model.js';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai-server.js';

export interface FakeChatSetup {
  server: FakeOpenAI;
  model: CreatedChatModel;
  schema: ToolExecutor;
  /** Closes the model, then the server. */
  close(): Promise<void>;
}

/** Starts the fake server and builds the model on it and a schema executor. */
export async function startFakeChatSetup(): Promise<FakeChatSetup> {
  const server = await startFakeOpenAI();
  const model = await createChatModel('openai:fake-model', {
    openai: { baseUrl: server.baseUrl, apiKey: 'k' },
    noCache: true,
    maxRetries: 0,
  });
  const schema = await createExecutor('schema');
  return {
    server,
    model,
    schema,
    close: async () => {
      await model.close();
      await server.close();
    },
  };
}
