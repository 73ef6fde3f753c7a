/**
 * `toolalpaca tools ...`: inspect, validate and convert toolsets (ToolAlpaca JSON or OpenAPI specs).
 * Only flag parsing and printing here; reading, checking and converting live in src/formats.
 */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import type { ToolAlpacaRecord } from '../core/toolalpaca-record.js';
import { mcpSecretsLeftOut } from '../formats/mcp.js';
import { toolToOpenApi } from '../formats/openapi.js';
import { checkTool, formatProblem, type ToolProblem } from '../formats/tool-checks.js';
import {
  readToolSource,
  recomputeDerivedFields,
  toolToRecord,
  toolsOfSource,
  writeToolAlpacaFile,
  type SourcedTool,
} from '../formats/toolalpaca-json.js';

const INPUT_HELP = `
FILE is a ToolAlpaca JSON file (an array of tool records, or one record object) or an OpenAPI 3.x /
Swagger 2.0 spec (JSON or YAML), or a folder of specs, or an MCP client configuration ({"mcpServers":
{...}}: each server started, listed and stopped; see docs/mcp.md). The format is detected from the content.`;

async function loadTools(files: readonly string[]): Promise<SourcedTool[]> {
  const tools: SourcedTool[] = [];
  for (const file of files) tools.push(...(await toolsOfSource(await readToolSource(file))));
  return tools;
}

/** The problems of one tool: its checks, or why it could not be read at all. */
function problemsOf(entry: SourcedTool): ToolProblem[] {
  if (entry.tool === undefined) return [{ tool: entry.name, message: entry.error ?? 'could not be read' }];
  return checkTool(entry.tool);
}

/** A file-name-safe slug: ASCII letters, digits and dashes. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
  return slug === '' ? 'tool' : slug;
}

function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

interface ListEntry {
  name: string;
  category: string | null;
  functions: number | null;
  problems: number;
  valid: boolean;
  /** Why the tool could not be read at all (its other problems are for `tools validate`). */
  error?: string;
  source: string;
}

/** A reader's reason without the `tool "X" Documentation: ` the table's NAME column already says. */
function shortReason(error: string): string {
  return error.replace(/^tool ".*?" Documentation: /, '');
}

function addListCommand(parent: Command): void {
  parent
    .command('list')
    .summary('list tools with category, function count and validity')
    .description(
      'List the tools in ToolAlpaca JSON or OpenAPI files: name, category, function count, validity.',
    )
    .argument('<file...>', 'ToolAlpaca JSON file, OpenAPI spec, or folder of specs')
    .option('--json', 'print a JSON array instead of a table')
    .addHelpText(
      'after',
      `${INPUT_HELP}\n\nExamples:\n  $ toolalpaca tools list eval_real.json\n  $ toolalpaca tools list specs/ --json`,
    )
    .action(async (files: string[], options: { json?: boolean }) => {
      const entries: ListEntry[] = (await loadTools(files)).map((entry) => {
        const problems = problemsOf(entry).length;
        return {
          name: entry.name,
          category: entry.tool?.category ?? entry.record?.Category ?? null,
          functions: entry.tool?.functions.length ?? null,
          problems,
          valid: problems === 0,
          ...(entry.tool === undefined ? { error: entry.error ?? 'could not be read' } : {}),
          source: entry.source,
        };
      });
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      const rows = entries.map((entry) => [
        entry.name,
        entry.category ?? '',
        entry.functions === null ? '-' : String(entry.functions),
        entry.error !== undefined
          ? `unreadable: ${shortReason(entry.error)}`
          : entry.valid
            ? 'ok'
            : `${entry.problems} problem${entry.problems === 1 ? '' : 's'}`,
        ...(files.length > 1 ? [entry.source] : []),
      ]);
      const header = ['NAME', 'CATEGORY', 'FUNCTIONS', 'STATUS', ...(files.length > 1 ? ['SOURCE'] : [])];
      process.stdout.write(renderTable(header, rows));
    });
}

function addDocsCommand(parent: Command): void {
  parent
    .command('docs')
    .summary('recompute the NL documentation fields and write ToolAlpaca JSON')
    .description(
      'Recompute the NL documentation fields (NLDocumentation, Function_Description, Function_Projection) ' +
        "from each tool's OpenAPI Documentation and write the tools as ToolAlpaca JSON; other keys are kept.",
    )
    .argument('<file>', 'ToolAlpaca JSON file, OpenAPI spec, or folder of specs')
    .requiredOption('--out <path>', 'ToolAlpaca JSON file to write (replaced atomically)')
    .addHelpText(
      'after',
      `${INPUT_HELP}\n\nExample:\n  $ toolalpaca tools docs eval_real.json --out eval_real.docs.json`,
    )
    .action(async (file: string, options: { out: string }) => {
      const source = await readToolSource(file);
      let records: ToolAlpacaRecord[];
      if (source.kind === 'toolalpaca') {
        records = source.records.map((record) => {
          try {
            return recomputeDerivedFields(record);
          } catch (error) {
            // Name the file too: the library error names only the tool.
            if (error instanceof InputError)
              throw new InputError(`${file}: ${error.message}`, { cause: error });
            throw error;
          }
        });
      } else {
        records = [];
        for (const entry of await toolsOfSource(source)) {
          // A server that cannot be read is not left out quietly: the file would lack a tool.
          if (entry.tool === undefined)
            throw new InputError(`${file}: ${entry.error ?? `tool "${entry.name}" could not be read`}`);
          records.push(toolToRecord(entry.tool));
          for (const line of mcpSecretsLeftOut([entry.tool])) process.stderr.write(`warning: ${line}\n`);
        }
      }
      await writeToolAlpacaFile(options.out, records);
      process.stderr.write(
        `wrote ${records.length} tool${records.length === 1 ? '' : 's'} to ${options.out}\n`,
      );
    });
}

function addValidateCommand(parent: Command): void {
  parent
    .command('validate')
    .summary('report usability problems; exit 0 valid, 1 problems, 2 unreadable')
    .description(
      'Check that tools are usable for corpus generation (servers, operationIds, parameter descriptions, ' +
        'response schemas, readable Documentation). Prints one line per ' +
        'problem as "tool › function: problem". Exit code 0: all valid, 1: problems found, 2: unreadable input.',
    )
    .argument('<file...>', 'ToolAlpaca JSON file, OpenAPI spec, or folder of specs')
    .option('--json', 'print {tools, valid, problems: [...]} as JSON')
    .addHelpText(
      'after',
      `${INPUT_HELP}\n\nExample:\n  $ toolalpaca tools validate eval_simulated.json && echo all good`,
    )
    .action(async (files: string[], options: { json?: boolean }) => {
      const tools = await loadTools(files);
      const problems = tools.flatMap((entry) =>
        problemsOf(entry).map((problem) => ({ ...problem, source: entry.source })),
      );
      if (options.json === true) {
        const report = { tools: tools.length, valid: problems.length === 0, problems };
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        for (const problem of problems) process.stdout.write(`${formatProblem(problem)}\n`);
        const summary =
          problems.length === 0
            ? `${tools.length} tool${tools.length === 1 ? '' : 's'} checked, no problems`
            : `${tools.length} tool${tools.length === 1 ? '' : 's'} checked, ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
        process.stderr.write(`${summary}\n`);
      }
      if (problems.length > 0) process.exitCode = 1;
    });
}

function addConvertCommand(parent: Command): void {
  parent
    .command('convert')
    .summary('convert between ToolAlpaca JSON and OpenAPI specs')
    .description(
      'Convert tools between formats. --to openapi writes one OpenAPI JSON spec per tool into the folder ' +
        '--out (file names are slugs of the tool names); --to toolalpaca writes one ToolAlpaca JSON file ' +
        'with Documentation and the NL documentation fields.',
    )
    .argument('<file>', 'ToolAlpaca JSON file, OpenAPI spec, or folder of specs')
    .addOption(
      new Option('--to <format>', 'output format').choices(['openapi', 'toolalpaca']).makeOptionMandatory(),
    )
    .requiredOption('--out <path>', 'output folder (openapi) or file (toolalpaca)')
    .addHelpText(
      'after',
      `${INPUT_HELP}\n\nExamples:\n  $ toolalpaca tools convert eval_real.json --to openapi --out specs/\n` +
        '  $ toolalpaca tools convert specs/ --to toolalpaca --out tools.json',
    )
    .action(async (file: string, options: { to: 'openapi' | 'toolalpaca'; out: string }) => {
      const tools = await loadTools([file]);
      const broken = tools.find((entry) => entry.tool === undefined);
      if (broken !== undefined)
        throw new InputError(
          `${broken.source}: ${broken.error ?? `tool "${broken.name}" could not be read`}`,
        );
      const readable = tools.flatMap((entry) => (entry.tool !== undefined ? [entry.tool] : []));
      for (const line of mcpSecretsLeftOut(readable)) process.stderr.write(`warning: ${line}\n`);
      if (options.to === 'openapi') {
        const used = new Set<string>();
        for (const entry of tools) {
          if (entry.tool === undefined) continue;
          const slug = slugify(entry.tool.name);
          let fileName = `${slug}.json`;
          for (let n = 2; used.has(fileName); n++) fileName = `${slug}-${n}.json`;
          used.add(fileName);
          await writeFileAtomic(
            join(options.out, fileName),
            `${JSON.stringify(toolToOpenApi(entry.tool), null, 2)}\n`,
          );
        }
        process.stderr.write(
          `wrote ${used.size} OpenAPI spec${used.size === 1 ? '' : 's'} to ${options.out}\n`,
        );
      } else {
        const records = tools.flatMap((entry) =>
          entry.tool === undefined ? [] : [toolToRecord(entry.tool, entry.record ?? {})],
        );
        await writeToolAlpacaFile(options.out, records);
        process.stderr.write(
          `wrote ${records.length} tool${records.length === 1 ? '' : 's'} to ${options.out}\n`,
        );
      }
    });
}

/** Registers the `tools` command group. */
export function registerToolsCommands(program: Command): void {
  // `.command()` (not addCommand) so that subcommands inherit exitOverride and the other program settings.
  const tools = program
    .command('tools')
    .description('Inspect, validate and convert toolsets (ToolAlpaca JSON files and OpenAPI specs).');
  addListCommand(tools);
  addDocsCommand(tools);
  addValidateCommand(tools);
  addConvertCommand(tools);
}
