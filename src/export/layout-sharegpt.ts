/** ShareGPT `conversations` (`from`/`value`): system, human, gpt (ReAct text) and observation turns. */
import { ShareGptRecordSchema, type ShareGptRecord } from '../core/sft.js';
import { reactChatTurns, type ChatTurn, type SftLayout } from './layout.js';

const FROM: Record<ChatTurn['role'], ShareGptRecord['conversations'][number]['from']> = {
  system: 'system',
  user: 'human',
  assistant: 'gpt',
  tool: 'observation',
};

export const shareGptLayout: SftLayout = {
  name: 'sharegpt',
  fileFormat: 'jsonl',
  schema: ShareGptRecordSchema,
  render: (example): ShareGptRecord => ({
    id: example.id,
    conversations: reactChatTurns(example).map((turn) => ({ from: FROM[turn.role], value: turn.content })),
  }),
  chatTurns: reactChatTurns,
};
