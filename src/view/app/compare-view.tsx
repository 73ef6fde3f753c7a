/**
 * Two runs of the same instructions side by side: the pairs (matched by tool and instruction, or by
 * query), those whose outcome differs marked, then one pair's two trajectories in two columns.
 */
import type { JSX } from 'preact';
import type { CompareResponse, FileInfo } from '../api.js';
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

export function CompareView(props: {
  files: FileInfo[];
  a: FileInfo;
  b?: FileInfo;
  route: Route;
}): JSX.Element {
  const { a, b, route } = props;
  const candidates = props.files.filter((f) => f.comparable && f.id !== a.id);
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
  const picker = (
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
  if (b === undefined) return <div class="compare-view">{picker}</div>;
  if (route.an !== undefined || route.bn !== undefined) {
    const back: Route = { ...route };
    delete back.an;
    delete back.bn;
    const backUrl = routeUrl(back);
    return (
      <div class="compare-view">
        <a class="back" href={backUrl} onClick={linkHandler(backUrl)}>
          ← pairs
        </a>
        <div class="compare-columns">
          <Side file={a} n={route.an} />
          <Side file={b} n={route.bn} />
        </div>
      </div>
    );
  }
  const counts = data.data?.counts;
  const onlyUrl = (only: Route['only']): string => {
    const next: Route = { ...route, offset: 0 };
    if (only === undefined) delete next.only;
    else next.only = only;
    return routeUrl(next);
  };
  return (
    <div class="compare-view">
      {picker}
      {counts !== undefined ? (
        <p class="compare-counts">
          <a
            href={onlyUrl(undefined)}
            onClick={linkHandler(onlyUrl(undefined))}
            class={route.only === undefined ? 'on' : ''}
          >
            all
          </a>
          <a
            href={onlyUrl('both')}
            onClick={linkHandler(onlyUrl('both'))}
            class={route.only === 'both' ? 'on' : ''}
          >
            in both: {counts.both}
          </a>
          <a
            href={onlyUrl('differ')}
            onClick={linkHandler(onlyUrl('differ'))}
            class={route.only === 'differ' ? 'on' : ''}
          >
            outcome differs: <span data-differ={counts.differ}>{counts.differ}</span>
          </a>
          <span>
            only in the first: {counts.onlyA} · only in the second: {counts.onlyB}
          </span>
        </p>
      ) : null}
      <table class="items pairs">
        <thead>
          <tr>
            <th>tool</th>
            <th>instruction</th>
            <th>{a.path}</th>
            <th>{b.path}</th>
          </tr>
        </thead>
        <tbody>
          {(data.data?.pairs ?? []).map((pair, i) => {
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
      {data.data !== undefined && data.data.total > PAGE_SIZE ? (
        <p class="pager">
          {route.offset > 0 ? (
            <a
              href={routeUrl({ ...route, offset: Math.max(0, route.offset - PAGE_SIZE) })}
              onClick={linkHandler(routeUrl({ ...route, offset: Math.max(0, route.offset - PAGE_SIZE) }))}
            >
              ← prev
            </a>
          ) : null}{' '}
          {route.offset + 1}–{Math.min(route.offset + PAGE_SIZE, data.data.total)} of {data.data.total}{' '}
          {route.offset + PAGE_SIZE < data.data.total ? (
            <a
              href={routeUrl({ ...route, offset: route.offset + PAGE_SIZE })}
              onClick={linkHandler(routeUrl({ ...route, offset: route.offset + PAGE_SIZE }))}
            >
              next →
            </a>
          ) : null}
        </p>
      ) : null}
    </div>
  );
}
