import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The public datasets this project reads, with where their originals live and their SHA-256 checksums
 * (taken from the copies the tests use, so a download is checked byte for byte).
 */
export interface DatasetFile {
  /** Path written under the target folder (a file name, or `folder/file` for datasets made of folders). */
  name: string;
  url: string;
  sha256: string;
}

export interface Dataset {
  name: string;
  description: string;
  licence: string;
  files: DatasetFile[];
}

const TOOLALPACA_RAW = 'https://raw.githubusercontent.com/tangqiaoyu/ToolAlpaca/main/data';
/** StableToolBench at the commit whose ToolEval evaluators the shared copies are. */
const STABLETOOLBENCH_AT =
  'https://raw.githubusercontent.com/THUNLP-MT/StableToolBench/aa4ed9f4737ad98bd706663f01d63623c3427812';
/** ToolBench at the commit whose prompt module the shared copies are. */
const TOOLBENCH_AT =
  'https://raw.githubusercontent.com/OpenBMB/ToolBench/d56fdd89faf8c91fa135090b212bb9057ee5cfc2';
const STABLETOOLBENCH_RAW =
  'https://raw.githubusercontent.com/THUNLP-MT/StableToolBench/master/solvable_queries/test_instruction';

export const DATASETS: readonly Dataset[] = [
  {
    name: 'toolalpaca-eval',
    description: 'ToolAlpaca evaluation sets: 10 simulated tools (100 instructions), 11 real APIs (114)',
    licence: 'Apache-2.0 (ToolAlpaca repository)',
    files: [
      {
        name: 'eval_simulated.json',
        url: `${TOOLALPACA_RAW}/eval_simulated.json`,
        sha256: '17085ffefae0a0e15c1d2d564263063932d692011edf27ce8ae3d3803432ba08',
      },
      {
        name: 'eval_real.json',
        url: `${TOOLALPACA_RAW}/eval_real.json`,
        sha256: '86d1392c786060e00dd6feaa963d8a87660e3042380b0abbd8ccad2b931e2778',
      },
    ],
  },
  {
    name: 'public-apis',
    description: 'The public-apis catalogue as ToolAlpaca stored it: 1,425 entries in 51 categories',
    licence: 'MIT (public-apis project), via the ToolAlpaca repository',
    files: [
      {
        name: 'public_apis.json',
        url: `${TOOLALPACA_RAW}/public_apis.json`,
        sha256: '56e3218afcc6b93725c610d06a018091a38953e300e5073fb13d81ed3cd69ac8',
      },
    ],
  },
  {
    name: 'stabletoolbench',
    description:
      'Solvable ToolBench test queries (G1 instruction/category/tool, G2 instruction, G3 instruction)',
    licence: 'Apache-2.0 (StableToolBench repository)',
    files: [
      ['G1_instruction.json', '500aa0105ed451538448f6ea04f10661536b013f3e1a293840fe401688160e7c'],
      ['G1_category.json', '123cb9073c8b6e6473df91c8a51170277087e1c263eba2eb6077170edbe849c3'],
      ['G1_tool.json', '05d0c180bbec9d060fd267cc79399bda05beddd0a6d0de68b5488926a9029a1a'],
      ['G2_instruction.json', '82d569cd0fc8fc742a15a3011fb5cd6a8b11e0a5b344c884602347439f43cad7'],
      ['G3_instruction.json', 'f923d1a9452646bd1a415b266117d90675d0f8fc04cf014db58d3cd78c25634f'],
    ].map(([name, sha256]) => ({ name: name!, url: `${STABLETOOLBENCH_RAW}/${name}`, sha256: sha256! })),
  },
  {
    name: 'stabletoolbench-evaluators',
    description:
      "StableToolBench's ToolEval evaluator folders (config.yaml + template.txt): default, fn, normalized",
    licence: 'Apache-2.0 (StableToolBench repository)',
    files: [
      [
        'tooleval_gpt-3.5-turbo_default/config.yaml',
        'cd80ce6484def599155944b66626aea7d8ed41af0032c5637ef428473eadc6e3',
      ],
      [
        'tooleval_gpt-3.5-turbo_default/template.txt',
        '6290be607cd67682457296508edc1404ac4ee0b153225bb6cb0cdeba36c97d7e',
      ],
      [
        'tooleval_gpt-3.5-turbo_fn/config.yaml',
        '4e822e80adc3c204b7da89c63dfbe72d48b6c50b41b7b9af4b9a6032cd80a329',
      ],
      [
        'tooleval_gpt-3.5-turbo_fn/template.txt',
        '312e72a465f0b7036d04694b7b7e8dbf3d18452bc75a763803a09e21e88d6f87',
      ],
      [
        'tooleval_gpt-3.5-turbo_normalized/config.yaml',
        '13402bf7edfd31baccd1664bc7f757c086315ef596b6893a615fe65555783146',
      ],
      [
        'tooleval_gpt-3.5-turbo_normalized/template.txt',
        '604cd18bccdf57043ae5fec7d9909f4fc73215f263d973cce0e0e29cec240ea4',
      ],
    ].map(([name, sha256]) => ({
      name: name!,
      url: `${STABLETOOLBENCH_AT}/toolbench/tooleval/evaluators/${name}`,
      sha256: sha256!,
    })),
  },
  {
    name: 'toolbench-prompts',
    description:
      "ToolBench's prompt module (system, user, DFSDT diversity prompts) and one ChatGPT DFSDT answer of its example data (the Finish function and task description ToolLLaMA was trained with)",
    licence: 'Apache-2.0 (ToolBench repository)',
    files: [
      {
        name: 'ReAct_prompts.py',
        url: `${TOOLBENCH_AT}/toolbench/inference/Prompts/ReAct_prompts.py`,
        sha256: '79219caab8db66a319daa3bf5e092993c2c744a25ba20b56fb605d7861b10511',
      },
      {
        name: 'Tree_search_prompts.py',
        url: `${TOOLBENCH_AT}/toolbench/inference/Prompts/Tree_search_prompts.py`,
        sha256: '0dbaec29bf2e6690797f0693a8be250a45ff843a66556ab1b63487b821dec1aa',
      },
      {
        name: '57_ChatGPT_DFS_woFilter_w2.json',
        url: `${TOOLBENCH_AT}/data_example/answer/G1_answer/57_ChatGPT_DFS_woFilter_w2.json`,
        sha256: '8279c9999dad881db8bc9e112feeb51ca2861e89d835111408f218af297af531',
      },
    ],
  },
];

export function findDataset(name: string): Dataset | undefined {
  return DATASETS.find((dataset) => dataset.name === name);
}

/** Where `datasets fetch` puts a dataset by default: `$TOOLALPACA_DATA_DIR/NAME`, else `~/.cache/toolalpaca/datasets/NAME`. */
export function defaultDatasetDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.TOOLALPACA_DATA_DIR;
  return join(
    base !== undefined && base !== '' ? base : join(homedir(), '.cache', 'toolalpaca', 'datasets'),
    name,
  );
}
