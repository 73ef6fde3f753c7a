import type { Command } from 'commander';

/** Adds one command group (a top-level command and its sub-commands) to the program. */
type GroupRegistrar = (program: Command) => void;

/**
 * Every command group, in the order `--help` lists them; one file per group under src/cli/. Each is
 * imported only when needed: a run of `toolalpaca generate` does not load the web server of `view`,
 * the queue client of `worker` or the MCP SDK, which keeps the start of every command short.
 */
const COMMAND_GROUPS: ReadonlyArray<readonly [name: string, load: () => Promise<GroupRegistrar>]> = [
  ['demo', async () => (await import('./demo.js')).registerDemoCommand],
  ['toolset', async () => (await import('./toolset.js')).registerToolsetCommands],
  ['tools', async () => (await import('./tools.js')).registerToolsCommands],
  ['instructions', async () => (await import('./instructions.js')).registerInstructionsCommand],
  ['generate', async () => (await import('./generate.js')).registerGenerateCommand],
  ['verify', async () => (await import('./verify.js')).registerVerifyCommand],
  ['export', async () => (await import('./export.js')).registerExportCommand],
  ['train', async () => (await import('./train.js')).registerTrainCommand],
  ['eval', loadEvalGroup],
  ['toolbench', async () => (await import('./toolbench.js')).registerToolbenchCommands],
  ['solve', async () => (await import('./solve.js')).registerSolveCommand],
  ['retrieve', async () => (await import('./retrieve.js')).registerRetrieveCommand],
  ['report', async () => (await import('./report.js')).registerReportCommand],
  ['view', async () => (await import('./view.js')).registerViewCommand],
  ['chat', async () => (await import('./chat.js')).registerChatCommand],
  ['cache', async () => (await import('./cache.js')).registerCacheCommands],
  ['serve', async () => (await import('./serve.js')).registerServeCommand],
  ['datasets', async () => (await import('./datasets.js')).registerDatasetsCommands],
  ['worker', async () => (await import('./worker.js')).registerWorkerCommand],
  ['queue', async () => (await import('./queue.js')).registerQueueCommands],
];

/** `eval` and the evaluation commands that live in other files (`eval tooleval`, `eval retrieval`). */
async function loadEvalGroup(): Promise<GroupRegistrar> {
  const [evalCommands, tooleval] = await Promise.all([import('./eval.js'), import('./tooleval.js')]);
  return (program) => {
    const evalCommand = evalCommands.registerEvalCommands(program);
    tooleval.registerToolevalCommand(evalCommand);
    tooleval.registerEvalRetrievalCommand(evalCommand);
  };
}

/**
 * Registers the command groups. With `onlyCommand` naming a known group, only that group is loaded
 * (the program is about to run it); otherwise (top-level help, `help CMD`, an unknown or mistyped
 * command, which needs every name for "did you mean") all of them are; for `--version` alone, none.
 */
export async function registerCommands(
  program: Command,
  onlyCommand?: string,
  versionOnly = false,
): Promise<void> {
  if (versionOnly) return;
  const only = COMMAND_GROUPS.find(([name]) => name === onlyCommand);
  const groups = only === undefined ? COMMAND_GROUPS : [only];
  const registrars = await Promise.all(groups.map(([, load]) => load()));
  for (const register of registrars) register(program);
}

/** The command a command line runs: its first word that is not an option (`--debug` takes no value). */
export function commandNameOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((word) => !word.startsWith('-'));
}
