/** Small pieces shared by the views: badges, the facet sidebar, a trajectory, judgments, chart. */
import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { barChartSvg, SERIES_COLORS } from '../../eval/report/svg.js';
import {
  FACETS,
  type FacetCount,
  type FacetName,
  type FacetValues,
  type ItemDetail,
  type JudgmentsView,
  type StepView,
  type SummaryResponse,
  type TrajectoryView,
  type VerificationView,
} from '../api.js';
import { linkHandler, navigate, routeUrl, type Route } from './route.js';

const GOOD = new Set([
  'completed',
  'passed',
  'pass',
  'Yes',
  'agree',
  'give_answer',
  'answer',
  'win',
  'Solved',
]);
const BAD = new Set([
  'failed',
  'fail',
  'No',
  'error',
  'disagree',
  'give_up',
  'no answer',
  'lose',
  'Unsolved',
]);

export function tone(value: string): string {
  if (GOOD.has(value)) return 'good';
  if (BAD.has(value) || value.startsWith('failed')) return 'bad';
  return 'neutral';
}

export function Badge(props: { value: string; label?: string; title?: string }): JSX.Element {
  return (
    <span class={`badge ${tone(props.value)}`} title={props.title ?? props.label}>
      {props.label !== undefined ? `${props.label}: ` : ''}
      {props.value}
    </span>
  );
}

const ROW_FACETS: { name: FacetName; label?: string }[] = [
  { name: 'status' },
  { name: 'failure' },
  { name: 'finish' },
  { name: 'process', label: 'process' },
  { name: 'response', label: 'response' },
  { name: 'checker', label: 'checker' },
  { name: 'agreement' },
  { name: 'tooleval', label: 'ToolEval' },
  { name: 'win', label: 'win' },
  { name: 'verification', label: 'verification' },
  { name: 'kind', label: 'kind' },
  { name: 'split' },
];

/** The badges of an item's facet values (tool and category apart). */
export function FacetBadges(props: { facets: FacetValues; sources?: boolean }): JSX.Element {
  const out: JSX.Element[] = [];
  for (const { name, label } of ROW_FACETS) {
    for (const value of props.facets[name] ?? []) {
      out.push(<Badge key={`${name}:${value}`} value={value} {...(label !== undefined ? { label } : {})} />);
    }
  }
  if (props.sources !== false) {
    for (const source of props.facets.source ?? []) {
      out.push(
        <span key={`source:${source}`} class={`source source-${source}`} title="observation source">
          {source}
        </span>,
      );
    }
  }
  return <span class="badges">{out}</span>;
}

const SHOWN_VALUES = 12;

function FacetGroup(props: {
  name: FacetName;
  label: string;
  counts: FacetCount[];
  route: Route;
}): JSX.Element {
  const [all, setAll] = useState(false);
  const selected = props.route.filters[props.name] ?? [];
  const shown = all ? props.counts : props.counts.slice(0, SHOWN_VALUES);
  const toggle = (value: string): string => {
    const next = selected.includes(value) ? selected.filter((v) => v !== value) : [...selected, value];
    const filters = { ...props.route.filters };
    if (next.length > 0) filters[props.name] = next;
    else delete filters[props.name];
    return routeUrl({ ...props.route, filters, offset: 0 });
  };
  return (
    <section class="facet" data-facet={props.name}>
      <h3>{props.label}</h3>
      <ul>
        {shown.map((c) => {
          const url = toggle(c.value);
          const on = selected.includes(c.value);
          return (
            <li key={c.value}>
              <a href={url} class={on ? 'on' : ''} onClick={linkHandler(url)} data-value={c.value}>
                <span class="check">{on ? '☑' : '☐'}</span>
                <span class="value">{c.value}</span>
                <span class="count">{c.count}</span>
              </a>
            </li>
          );
        })}
      </ul>
      {props.counts.length > SHOWN_VALUES ? (
        <button class="more" onClick={() => setAll(!all)}>
          {all ? 'fewer' : `all ${props.counts.length}`}
        </button>
      ) : null}
    </section>
  );
}

export function FacetSidebar(props: {
  facets: Partial<Record<FacetName, FacetCount[]>>;
  route: Route;
  /** The file is still being indexed: the counts cover the items read so far. */
  partial?: boolean;
}): JSX.Element {
  const active = Object.keys(props.route.filters).length > 0;
  return (
    <aside class={props.partial === true ? 'facets partial' : 'facets'} aria-label="filters">
      {props.partial === true ? (
        <p class="partial-note" title="the file is still being indexed: counts grow until it is read">
          counts so far (indexing…)
        </p>
      ) : null}
      {active ? (
        <a
          class="clear"
          href={routeUrl({ ...props.route, filters: {}, offset: 0 })}
          onClick={linkHandler(routeUrl({ ...props.route, filters: {}, offset: 0 }))}
        >
          clear filters
        </a>
      ) : null}
      {FACETS.map((f) => {
        const counts = props.facets[f.name];
        const selected = props.route.filters[f.name];
        if ((counts === undefined || counts.length === 0) && selected === undefined) return null;
        // A facet with one value everywhere says nothing, unless it is selected (the tool, and a
        // verified file's outcome — every instance rejected at one stage — say something even then).
        if (
          counts !== undefined &&
          counts.length === 1 &&
          selected === undefined &&
          f.name !== 'tool' &&
          f.name !== 'verification'
        )
          return null;
        const list = counts ?? [];
        for (const value of selected ?? [])
          if (!list.some((c) => c.value === value)) list.push({ value, count: 0 });
        return <FacetGroup key={f.name} name={f.name} label={f.label} counts={list} route={props.route} />;
      })}
    </aside>
  );
}

/** JSON text pretty-printed when it parses, else as it is. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function Step(props: { step: StepView; index: number }): JSX.Element {
  const { step } = props;
  return (
    <li class="step" data-step={props.index + 1}>
      <div class="step-head">
        <span class="step-n">{props.index + 1}</span>
        <span class="action">{step.action}</span>
        {step.source !== undefined ? (
          <span class={`source source-${step.source}`} title="where the observation came from">
            {step.source}
          </span>
        ) : null}
      </div>
      {step.thought !== undefined ? <p class="thought">{step.thought}</p> : null}
      <div class="kv">
        <span class="k">arguments</span>
        <pre class="args">{prettyJson(step.actionInput)}</pre>
      </div>
      <div class="kv">
        <span class="k">observation</span>
        <pre class="observation">{step.observation}</pre>
      </div>
    </li>
  );
}

export function Trajectory(props: { trajectory: TrajectoryView; turn?: number }): JSX.Element {
  const t = props.trajectory;
  return (
    <div class={props.turn === undefined ? 'trajectory' : 'trajectory follow-up'}>
      <section class="instruction">
        <h3>{props.turn === undefined ? 'Instruction' : `Turn ${props.turn}: the user follows up`}</h3>
        <p>{t.instruction}</p>
        {t.missing !== undefined ? (
          <p class="missing muted">
            left out of the request: <code>{t.missing.argument}</code>
            {t.missing.function !== undefined ? ` (${t.missing.function})` : ''}
            {t.missing.value !== undefined ? `; the user gives ${t.missing.value} when asked` : ''}
          </p>
        ) : null}
      </section>
      {t.steps.length > 0 ? (
        <ol class="steps">
          {t.steps.map((step, i) => (
            <Step key={i} step={step} index={i} />
          ))}
        </ol>
      ) : (
        <p class="muted">no tool call</p>
      )}
      {t.finalThought !== undefined ? (
        <section class="final-thought">
          <h3>Final thought</h3>
          <p>{t.finalThought}</p>
        </section>
      ) : null}
      <section class="final">
        <h3>Final answer</h3>
        {t.finalAnswer !== undefined ? <p class="answer">{t.finalAnswer}</p> : <p class="muted">none</p>}
        {t.failure !== undefined ? (
          <p class="failure">
            <Badge value="failed" /> <b>{t.failure.reason}</b> {t.failure.message}
          </p>
        ) : null}
      </section>
      {t.golden !== undefined ? (
        <section class="golden">
          <h3>Standard answer</h3>
          <ol>
            {t.golden.map((g, i) => (
              <li key={i}>
                <span class="action">{g.action}</span> <code>{g.actionInput}</code>
              </li>
            ))}
          </ol>
        </section>
      ) : null}
      {(t.followUps ?? []).map((turn, i) => (
        <Trajectory key={i} trajectory={turn} turn={i + 2} />
      ))}
    </div>
  );
}

export function Judgments(props: { judgments: JudgmentsView }): JSX.Element {
  const { llm, checker, agreement, tooleval } = props.judgments;
  return (
    <section class="judgments panel">
      <h3>
        Judgments{' '}
        {agreement !== undefined ? <Badge value={agreement} title="LLM judge vs checker (process)" /> : null}
      </h3>
      <div class="judges">
        {llm !== undefined ? <LlmJudge llm={llm} /> : null}
        {checker !== undefined ? <CheckerJudge checker={checker} /> : null}
        {tooleval !== undefined ? <ToolevalJudge tooleval={tooleval} /> : null}
      </div>
    </section>
  );
}

/** The LLM judge's labels and each verdict's reasoning (the first open). */
function LlmJudge(props: { llm: NonNullable<JudgmentsView['llm']> }): JSX.Element {
  const { llm } = props;
  return (
    <div class="judge llm">
      <h4>LLM judge · {llm.model}</h4>
      <p>
        {llm.process !== undefined ? <Badge label="process" value={llm.process} /> : null}{' '}
        {llm.responseJudged ? (
          llm.response !== undefined ? (
            <Badge label="response" value={llm.response} />
          ) : null
        ) : (
          <Badge label="response" value="not judged" />
        )}
        {llm.error !== undefined ? <span class="error"> {llm.error}</span> : null}
      </p>
      {llm.verdicts.map((v, i) => (
        <details key={i} open={i === 0}>
          <summary>
            verdict {i + 1}
            {llm.verdicts.length > 1 ? ` of ${llm.verdicts.length}` : ''}
            {v.process !== undefined ? ` · process ${v.process}` : ''}
            {v.response !== undefined ? ` · response ${v.response}` : ''}
            {v.error !== undefined ? ` · ${v.error}` : ''}
          </summary>
          <pre class="reasoning">{v.analysis}</pre>
        </details>
      ))}
    </div>
  );
}

/** The deterministic checker's process label and its reasons. */
function CheckerJudge(props: { checker: NonNullable<JudgmentsView['checker']> }): JSX.Element {
  const { checker } = props;
  return (
    <div class="judge checker">
      <h4>Deterministic checker{checker.computed ? ' (computed here)' : ''}</h4>
      <p>
        <Badge label="process" value={checker.correct ? 'pass' : 'fail'} />
      </p>
      {checker.reasons.length > 0 ? (
        <ul class="reasons">
          {checker.reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** ToolEval's pass label, its votes, the win against the reference, and each run's decision. */
function ToolevalJudge(props: { tooleval: NonNullable<JudgmentsView['tooleval']> }): JSX.Element {
  const { tooleval } = props;
  return (
    <div class="judge tooleval">
      <h4>ToolEval</h4>
      <p>
        <Badge label="pass" value={tooleval.passed ? 'passed' : 'failed'} /> {tooleval.passedVotes} passed ·{' '}
        {tooleval.failedVotes} failed votes
        {tooleval.answerStatus !== undefined ? <> · answer {tooleval.answerStatus}</> : null}
        {tooleval.win !== undefined ? (
          <>
            {' '}
            <Badge label="win" value={tooleval.win.outcome} title={tooleval.win.how} />
          </>
        ) : null}
      </p>
      <ol class="reasons">
        {tooleval.runs.map((r, i) => (
          <li key={i}>
            <Badge value={r.label} /> {r.decision} · answer {r.answerStatus}
            {r.taskStatus !== undefined ? ` · task ${r.taskStatus}` : ''} — {r.reason}
          </li>
        ))}
      </ol>
    </div>
  );
}

export function Verification(props: { verification: VerificationView }): JSX.Element {
  const v = props.verification;
  return (
    <section class="verification panel">
      <h3>
        Verification <Badge value={v.passed ? 'passed' : 'failed'} />
        {v.stage !== undefined ? <span class="muted"> stage {v.stage}</span> : null}
      </h3>
      {v.judge !== undefined ? <p class="muted">judge {v.judge}</p> : null}
      {v.reasons.length > 0 ? (
        <ul class="reasons">
          {v.reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function Fields(props: { detail: ItemDetail }): JSX.Element | null {
  const d = props.detail;
  const entries = Object.entries(d.fields);
  if (d.category !== undefined) entries.unshift(['category', d.category]);
  if (d.instanceKind !== undefined) entries.unshift(['instance kind', d.instanceKind]);
  if (entries.length === 0) return null;
  return (
    <section class="fields panel">
      <dl>
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

export function ToolDoc(props: { doc: string; tool?: string }): JSX.Element {
  return (
    <details class="tool-doc panel" open>
      <summary>Tool documentation{props.tool !== undefined ? ` · ${props.tool}` : ''}</summary>
      <pre>{props.doc}</pre>
    </details>
  );
}

/** The per-tool chart of a file (the report's chart code); bars open the filtered list. */
export function SummaryChart(props: { summary: SummaryResponse; route: Route }): JSX.Element {
  const { summary, route } = props;
  const svg = barChartSvg({
    id: 'file-summary',
    title: summary.title,
    categories: summary.categories,
    series: summary.series.map((s, i) => ({
      name: s.name,
      color: SERIES_COLORS[i % SERIES_COLORS.length] as string,
      values: s.values,
    })),
    link: (c, k) => {
      const s = summary.series[k];
      const tool = summary.categories[c];
      if (s === undefined || tool === undefined || tool === '(all)') return undefined;
      return routeUrl({
        ...route,
        filters: { ...route.filters, tool: [tool], [s.facet]: [s.value] },
        offset: 0,
      });
    },
    categoryLink: (c) => {
      const tool = summary.categories[c];
      if (tool === undefined || tool === '(all)') return undefined;
      return routeUrl({ ...route, filters: { ...route.filters, tool: [tool] }, offset: 0 });
    },
  });
  return (
    <div
      class="chart-box"
      onClick={(event) => {
        const a = (event.target as Element).closest('a');
        const href = a?.getAttribute('href');
        if (href === null || href === undefined) return;
        event.preventDefault();
        navigate(href);
      }}
      dangerouslySetInnerHTML={{ __html: svg }}
    />
  );
}

export function Tabs(props: {
  tabs: { id: string; label: string }[];
  active: string;
  href: (id: string) => string;
}): JSX.Element {
  return (
    <nav class="tabs" role="tablist">
      {props.tabs.map((t) => (
        <a
          key={t.id}
          role="tab"
          aria-selected={t.id === props.active}
          class={t.id === props.active ? 'tab on' : 'tab'}
          href={props.href(t.id)}
          onClick={linkHandler(props.href(t.id))}
          data-tab={t.id}
        >
          {t.label}
        </a>
      ))}
    </nav>
  );
}

export function Muted(props: { children: ComponentChildren }): JSX.Element {
  return <p class="muted">{props.children}</p>;
}
