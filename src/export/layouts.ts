/** SFT layouts by name. */
import { InputError } from '../core/errors.js';
import { SFT_LAYOUT_NAMES, type SftLayoutName } from '../core/sft.js';
import type { SftLayout } from './layout.js';
import { llamaFactoryLayout } from './layout-llamafactory.js';
import { openAiLayout } from './layout-openai.js';
import { shareGptLayout } from './layout-sharegpt.js';
import { toolAlpacaLayout, type ToolAlpacaPrompt } from './layout-toolalpaca.js';
import { toolBenchLayout } from './layout-toolbench.js';

export type { SftLayout, ChatTurn } from './layout.js';

export interface LayoutOptions {
  /** Prompt of the toolalpaca layout: `test_v1` (what build_dataset.py uses) or `train_v1`. */
  prompt?: ToolAlpacaPrompt;
}

export function isSftLayoutName(name: string): name is SftLayoutName {
  return (SFT_LAYOUT_NAMES as readonly string[]).includes(name);
}

/** The layout called `name`; InputError naming the valid ones otherwise. */
export function getSftLayout(name: string, options: LayoutOptions = {}): SftLayout {
  if (!isSftLayoutName(name)) {
    throw new InputError(`unknown export format '${name}'; expected one of: ${SFT_LAYOUT_NAMES.join(', ')}`);
  }
  switch (name) {
    case 'toolalpaca':
      return toolAlpacaLayout(options.prompt ?? 'test_v1');
    case 'sharegpt':
      return shareGptLayout;
    case 'openai':
      return openAiLayout;
    case 'toolbench':
      return toolBenchLayout;
    case 'llamafactory':
      return llamaFactoryLayout;
  }
}
