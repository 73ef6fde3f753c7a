import type { Command } from 'commander';
import { registerDatasetsCommands } from './datasets.js';
import { registerToolsCommands } from './tools.js';

/** Every command group registers itself here; one file per group under src/cli/. */
export function registerCommands(program: Command): void {
  registerToolsCommands(program);
  registerDatasetsCommands(program);
}
