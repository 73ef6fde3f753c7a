/** Prompt layouts by name. */
import { InputError } from '../../core/errors.js';
import { PROMPT_LAYOUT_NAMES, type PromptLayout, type PromptLayoutName } from './layout.js';
import { lean } from './lean.js';
import { testV1 } from './test-v1.js';
import { testV2 } from './test-v2.js';
import { trainV1 } from './train-v1.js';
import { trainV2 } from './train-v2.js';

export * from './layout.js';
export { toolPromptFunctions, parametersOf, firstSentence } from './functions.js';

const LAYOUTS: Readonly<Record<PromptLayoutName, PromptLayout>> = {
  train_v1: trainV1,
  train_v2: trainV2,
  test_v1: testV1,
  test_v2: testV2,
  lean,
};

export function isPromptLayoutName(name: string): name is PromptLayoutName {
  return (PROMPT_LAYOUT_NAMES as readonly string[]).includes(name);
}

/** The layout called `name`; InputError naming the valid ones otherwise. */
export function getPromptLayout(name: string): PromptLayout {
  if (!isPromptLayoutName(name)) {
    throw new InputError(
      `unknown prompt layout '${name}'; expected one of: ${PROMPT_LAYOUT_NAMES.join(', ')}`,
    );
  }
  return LAYOUTS[name];
}
