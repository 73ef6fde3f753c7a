/**
 * Two runs of the same instructions side by side: the pairs (matched by tool and instruction, or by
 * query), those whose outcome differs marked, then one pair's two trajectories in two columns.
 */
import type { JSX } from 'preact';
import type { CompareResponse, ComparePair, FileInfo } from '../api.js';
import { useJson } from './fetch.js';
import { useItem, SidePanels } from './item-view.js';
import { FacetBadges, Muted, Trajectory } from './parts.js';
import { linkHandler, navigate, routeUrl, type Route } from './route.js';
import { PAGE_SIZE } from './list-view.js';

function Side(props: { file: FileInfo; n: number | undefined }): JSX.Element {
  const { detail, error } = useItem(props.file, undefined, props.n);
  if (props.n === undefined) return <Muted>not in {props.file.path}</Muted>;
  if (error !== undefined) return <p class="error">{error}</p>;
  if (detail === undefined) return <Muted>loading…</Muted>;
  return (
    <div class="compare-side" data-file={props.file.id}>
      <h3>
        {props.file.path} <FacetBadges facets={detail.facets} />
      </h3>
      {detail.trajectory !== undefined ? <Trajectory trajectory={detail.trajectory} /> : null}
      <SidePanels detail={detail} withDoc={false} />
    </div>
  );
}

/** "compare A with [file]": the files that can be compared with `a`. */
function FilePicker(props: { files: FileInfo[]; a: FileInfo; b?: FileInfo; route: Route }): JSX.Element {
  const { a, b, route } = props;
  const candidates = props.files.filter((f) => f.comparable && f.id !== a.id);
  return (
    <label class="compare-pick">
      compare <b>{a.path}</b> with{' '}
      <select
        value={b !== undefined ? String(b.id) : ''}
        onChange={(e) => {
          const value = (e.target as HTMLSelectElement).value;
          const next: Route = { ...route, view: 'compare', b: value, offset: 0 };
          delete next.an;
          delete next.bn;
          navigate(next);
        }}
      >
        <option value="">choose a file…</option>
        {candidates.map((f) => (
          <option key={f.id} value={String(f.id)}>
            {f.path}
          </option>
        ))}
      </select>
    </label>
  );
}

/** How many pairs are in both files, differ, or are in one only; the first three filter the list. */
function PairCounts(props: { counts: CompareResponse['counts']; route: Route }): JSX.Element {
  const { counts, route } = props;
  const only = (value: Route['only'], children: JSX.Element | string): JSX.Element => {
    const next: Route = { ...route, offset: 0 };
    if (value === undefined) delete next.only;
    else next.only = value;
    const url = routeUrl(next);
    return (
      <a href={url} onClick={linkHandler(url)} class={route.only === value ? 'on' : ''}>
        {children}
      </a>
    );
  };
  return (
    <p class="compare-counts">
      {only(undefined, 'all')}
      {only('both', `in both: ${counts.both}`)}
      {only(
        'differ',
        <>
          outcome differs: <span data-differ={counts.differ}>{counts.differ}</span>
        </>,
      )}
      <span>
        only in the first: {counts.onlyA} · only in the second: {counts.onlyB}
      </span>
    </p>
  );
}

/** One page of pairs: tool, instruction and each side's outcome; a row opens the pair. */
function PairsTable(props: { a: FileInfo; b: FileInfo; pairs: ComparePair[]; route: Route }): JSX.Element {
  const { route } = props;
  return (
    <table class="items pairs">
      <thead>
        <tr>
          <th>tool</th>
          <th>instruction</th>
          <th>{props.a.path}</th>
          <th>{props.b.path}</th>
        </tr>
      </thead>
      <tbody>
        {props.pairs.map((pair, i) => {
          const next: Route = { ...route };
          if (pair.a !== undefined) next.an = pair.a.n;
          if (pair.b !== undefined) next.bn = pair.b.n;
          const url = routeUrl(next);
          return (
            <tr key={i} class={pair.differs ? 'differs' : ''} onClick={() => navigate(url)}>
              <td class="tool">{pair.tool ?? ''}</td>
              <td class="title">
                <a href={url} onClick={linkHandler(url)}>
                  {pair.title}
                </a>
              </td>
              <td>{pair.a !== undefined ? <FacetBadges facets={pair.a.facets} sources={false} /> : '—'}</td>
              <td>{pair.b !== undefined ? <FacetBadges facets={pair.b.facets} sources={false} /> : '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** ← prev, "11–20 of N", next → (only when there is more than a page). */
function PairsPager(props: { total: number; route: Route }): JSX.Element | null {
  const { total, route } = props;
  if (total <= PAGE_SIZE) return null;
  const prev = routeUrl({ ...route, offset: Math.max(0, route.offset - PAGE_SIZE) });
  const next = routeUrl({ ...route, offset: route.offset + PAGE_SIZE });
  return (
    <p class="pager">
      {route.offset > 0 ? (
        <a href={prev} onClick={linkHandler(prev)}>
          ← prev
        </a>
      ) : null}{' '}
      {route.offset + 1}–{Math.min(route.offset + PAGE_SIZE, total)} of {total}{' '}
      {route.offset + PAGE_SIZE < total ? (
        <a href={next} onClick={linkHandler(next)}>
          next →
        </a>
      ) : null}
    </p>
  );
}

/** One pair opened: the two trajectories side by side. */
function PairColumns(props: { a: FileInfo; b: FileInfo; route: Route }): JSX.Element {
  const back: Route = { ...props.route };
  delete back.an;
  delete back.bn;
  const backUrl = routeUrl(back);
  return (
    <div class="compare-view">
      <a class="back" href={backUrl} onClick={linkHandler(backUrl)}>
        ← pairs
      </a>
      <div class="compare-columns">
        <Side file={props.a} n={props.route.an} />
        <Side file={props.b} n={props.route.bn} />
      </div>
    </div>
  );
}

export function CompareView(props: {
  files: FileInfo[];
  a: FileInfo;
  b?: FileInfo;
  route: Route;
}): JSX.Element {
  const { a, b, route } = props;
  const params = new URLSearchParams({
    a: String(a.id),
    b: String(b?.id ?? ''),
    offset: String(route.offset),
  });
  params.set('limit', String(PAGE_SIZE));
  if (route.q !== undefined) params.set('q', route.q);
  if (route.only !== undefined) params.set('only', route.only);
  const data = useJson<CompareResponse>(
    b !== undefined ? `/api/compare?${params.toString()}` : undefined,
    `${a.version}:${b?.version ?? ''}`,
  );
  const picker = <FilePicker files={props.files} a={a} {...(b !== undefined ? { b } : {})} route={route} />;
  if (b === undefined) return <div class="compare-view">{picker}</div>;
  if (route.an !== undefined || route.bn !== undefined) return <PairColumns a={a} b={b} route={route} />;
  return (
    <div class="compare-view">
      {picker}
      {data.data !== undefined ? <PairCounts counts={data.data.counts} route={route} /> : null}
      <PairsTable a={a} b={b} pairs={data.data?.pairs ?? []} route={route} />
      {data.data !== undefined ? <PairsPager total={data.data.total} route={route} /> : null}
    </div>
  );
}
