/**
 * The `toolalpaca` command-line program. Each command group lives in its own file and only parses
 * flags and calls the library; errors become one line on stderr and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { ToolalpacaError, oneLine } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { commandNameOf, registerCommands } from './commands.js';
import { cliMessageOf } from './flag-wording.js';

/**
 * The program with its commands. Given the command line, only the command group it runs is loaded;
 * without it (tests that walk every command), all of them are.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('toolalpaca')
    .description(
      'Teach language models to use tools: toolsets from API catalogues, simulated tool-use corpora, training exports and evaluation.',
    )
    .version(VERSION)
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Before any command runs (not for --help): HTTP(S)_PROXY for every request the command makes.
    // Loaded here, not at the top: undici is only needed by commands that make requests, and `view`
    // (which makes none) starts faster without it.
    .hook('preAction', async (_program, command) => {
      if (command.name() === 'view') return;
      const { routeFetchThroughEnvironmentProxy } = await import('../core/http-dispatcher.js');
      routeFetchThroughEnvironmentProxy();
    });
  const command = argv === undefined ? undefined : commandNameOf(argv);
  const versionOnly =
    argv !== undefined && command === undefined && argv.some((word) => word === '--version' || word === '-V');
  await registerCommands(program, command, versionOnly);
  return program;
}

let pipeGuarded = false;

/**
 * Output into a pipe whose reader has gone (`toolalpaca tools list DIR | head -1`) ends the program
 * quietly, as SIGPIPE ends other command-line tools, instead of an unhandled EPIPE stack.
 */
function exitQuietlyOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const debug = argv.includes('--debug');
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end up here with exit code 0; usage errors (unknown option, missing
      // argument, bad value) were already printed and exit 2 like every other usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? error.message}\n`);
    const message = oneLine(cliMessageOf(error));
    process.stderr.write(`toolalpaca: ${message}\n`);
    return error instanceof ToolalpacaError ? error.exitCode : 1;
  }
}
