import type { Command } from 'commander';
import { defaultDatasetDir } from '../datasets/catalog.js';
import { fetchDataset, listDatasets } from '../datasets/fetch.js';

export function registerDatasetsCommands(program: Command): void {
  const datasets = program
    .command('datasets')
    .description(
      "Fetch the public datasets this project reads (ToolAlpaca, public-apis, StableToolBench queries and ToolEval evaluators, ToolBench's prompts).",
    );

  datasets
    .command('list')
    .description('List the datasets that `datasets fetch` knows.')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const all = listDatasets();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      for (const dataset of all) {
        process.stdout.write(`${dataset.name}\t${dataset.files.length} files\t${dataset.description}\n`);
      }
    });

  datasets
    .command('fetch')
    .description("Download a dataset's public originals into DIR, checking their SHA-256 checksums.")
    .argument(
      '<name>',
      `dataset name (${listDatasets()
        .map((d) => d.name)
        .join(', ')})`,
    )
    .option(
      '--dir <dir>',
      'folder to write the files into (default $TOOLALPACA_DATA_DIR/NAME, else ~/.cache/toolalpaca/datasets/NAME, where other commands look for them)',
    )
    .option('--from <dir>', 'copy from a local mirror folder instead of downloading')
    .option('--mirror <url>', 'download from this base URL instead of the original hosts')
    .option('--no-verify', 'accept files whose checksum differs from the pinned one')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        options: { dir?: string; from?: string; mirror?: string; verify: boolean; json?: boolean },
      ) => {
        const files = await fetchDataset(name, options.dir ?? defaultDatasetDir(name), {
          from: options.from,
          mirror: options.mirror,
          verify: options.verify,
          onFile: (file) => {
            if (!options.json)
              process.stdout.write(
                `${file.path}\t${file.bytes} bytes\tsha256 ${file.sha256.slice(0, 12)}…\n`,
              );
          },
        });
        if (options.json) process.stdout.write(`${JSON.stringify(files, null, 2)}\n`);
      },
    );
}
