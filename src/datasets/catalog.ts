/**
 * The public datasets this project reads, with where their originals live and their SHA-256 checksums
 * (taken from the copies the tests use, so a download is checked byte for byte).
 */
export interface DatasetFile {
  /** File name written into the target folder. */
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
];

export function findDataset(name: string): Dataset | undefined {
  return DATASETS.find((dataset) => dataset.name === name);
}
