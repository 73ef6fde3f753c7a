/** Stand-ins for the original files text templates read their texts from (invented texts, same code shape). */

/** A stand-in for ToolBench's toolbench/utils.py: the same code shape, invented texts. */
export function toolBenchUtilsStandIn(anchor: string): string {
  return [
    'import json',
    '',
    'def process_system_message(system_message, functions):',
    `    assert ${JSON.stringify(anchor)} in system_message`,
    '    # a comment with "a string" that is skipped',
    `    system_message = system_message.replace(${JSON.stringify(anchor)}, ${JSON.stringify(`${anchor} <NOTE>\n`)})`,
    '    # system_message = system_message + "commented out: never read" + str(functions)',
    '    system_message = system_message + "\\n<FUNCTIONS>: " + str(functions)',
    '    return system_message',
    '',
    'def other():',
    '    return "not part of it"',
    '',
  ].join('\n');
}
