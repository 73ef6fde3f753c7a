import type { Command } from 'commander';
import { registerCacheCommands } from './cache.js';
import { registerChatCommand } from './chat.js';
import { registerDatasetsCommands } from './datasets.js';
import { registerServeCommand } from './serve.js';
import { registerToolsCommands } from './tools.js';

/** Every command group registers itself here; one file per group under src/cli/. */
export function registerCommands(program: Command): void {
  registerToolsCommands(program);
  registerChatCommand(program);
  registerCacheCommands(program);
  registerServeCommand(program);
  registerDatasetsCommands(program);
}
