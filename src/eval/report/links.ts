/**
 * Links from report figures to the matching filtered list in `toolalpaca view` (when the report is made
 * with `--view-url`): the file, the tool, and the facet values the figure counts.
 */
import type { ReportEntry, ReportRow } from './model.js';

/** The metrics a report shows; each counts the items of one list in the viewer. */
export type ReportMetric =
  'procedure' | 'response' | 'overall' | 'deterministic' | 'failed' | 'errors' | 'all';

/** The viewer's facet filters that list the items a metric counts. */
export function metricFilters(entry: Pick<ReportEntry, 'judge'>, metric: ReportMetric): [string, string][] {
  const checkerAsJudge = entry.judge?.model === 'deterministic';
  switch (metric) {
    case 'procedure':
      return checkerAsJudge ? [['checker', 'pass']] : [['process', 'Yes']];
    case 'response':
      return [['response', 'Yes']];
    case 'overall':
      return [
        ['process', 'Yes'],
        ['response', 'Yes'],
      ];
    case 'deterministic':
      return [['checker', 'pass']];
    case 'failed':
      return [['status', 'failed']];
    case 'errors':
      return [['process', 'error']];
    case 'all':
      return [];
  }
}

/** A link to the viewer's list of `entry`'s items (of one tool when `row` is a tool's row) counted by `metric`. */
export function viewLink(
  viewUrl: string | undefined,
  entry: Pick<ReportEntry, 'path' | 'judge'>,
  row: Pick<ReportRow, 'name'> | undefined,
  metric: ReportMetric,
): string | undefined {
  if (viewUrl === undefined) return undefined;
  const params = new URLSearchParams();
  params.set('file', entry.path);
  if (row !== undefined) params.append('tool', row.name);
  for (const [name, value] of metricFilters(entry, metric)) params.append(name, value);
  return `${viewUrl.replace(/\/+$/, '')}/?${params.toString()}`;
}
