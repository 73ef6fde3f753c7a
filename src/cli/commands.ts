import type { Command } from 'commander';
import { registerCacheCommands } from './cache.js';
import { registerChatCommand } from './chat.js';
import { registerDatasetsCommands } from './datasets.js';
import { registerDemoCommand } from './demo.js';
import { registerEvalCommands } from './eval.js';
import { registerExportCommand } from './export.js';
import { registerGenerateCommand } from './generate.js';
import { registerInstructionsCommand } from './instructions.js';
import { registerReportCommand } from './report.js';
import { registerRetrieveCommand } from './retrieve.js';
import { registerServeCommand } from './serve.js';
import { registerSolveCommand } from './solve.js';
import { registerToolbenchCommands } from './toolbench.js';
import { registerEvalRetrievalCommand, registerToolevalCommand } from './tooleval.js';
import { registerToolsCommands } from './tools.js';
import { registerToolsetCommands } from './toolset.js';
import { registerTrainCommand } from './train.js';
import { registerVerifyCommand } from './verify.js';
import { registerViewCommand } from './view.js';
import { registerWorkerCommand } from './worker.js';
import { registerQueueCommands } from './queue.js';

/** Every command group registers itself here; one file per group under src/cli/. */
export function registerCommands(program: Command): void {
  registerDemoCommand(program);
  registerToolsetCommands(program);
  registerToolsCommands(program);
  registerInstructionsCommand(program);
  registerGenerateCommand(program);
  registerVerifyCommand(program);
  registerExportCommand(program);
  registerTrainCommand(program);
  const evalCommand = registerEvalCommands(program);
  registerToolevalCommand(evalCommand);
  registerEvalRetrievalCommand(evalCommand);
  registerToolbenchCommands(program);
  registerSolveCommand(program);
  registerRetrieveCommand(program);
  registerReportCommand(program);
  registerViewCommand(program);
  registerChatCommand(program);
  registerCacheCommands(program);
  registerServeCommand(program);
  registerDatasetsCommands(program);
  registerWorkerCommand(program);
  registerQueueCommands(program);
}
