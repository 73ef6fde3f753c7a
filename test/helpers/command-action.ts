/**
 * Runs a command's action in-process through commander, on a program holding only the commands that
 * `register` adds, and returns what it wrote to stdout (strings only).
 */
import { Command } from 'commander';

export async function runCommandAction(
  register: (program: Command) => void,
  args: string[],
): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // Only our strings: the test runner itself writes binary frames to stdout, which must pass through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write(chunk, ...rest);
    chunks.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'toolalpaca', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}
