/**
 * The viewer's front end (Preact, bundled into dist/view/assets at build time). The URL is the state;
 * the file list comes from the server and is kept fresh by its event stream (live logs grow here).
 */
import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { FILE_KIND_LABELS, type FileInfo } from '../api.js';
import { CompareView } from './compare-view.js';
import { getJson } from './fetch.js';
import { ItemView } from './item-view.js';
import { FileMeta, ListView } from './list-view.js';
import { linkHandler, onRouteChange, parseRoute, resolveFile, routeUrl, type Route } from './route.js';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.search));
  useEffect(() => onRouteChange(() => setRoute(parseRoute(location.search))), []);
  return route;
}

function useFiles(): { files: FileInfo[] | undefined; error?: string } {
  const [state, setState] = useState<{ files: FileInfo[] | undefined; error?: string }>({ files: undefined });
  useEffect(() => {
    getJson<FileInfo[]>('/api/files').then(
      (files) => setState({ files }),
      (error: unknown) => setState({ files: undefined, error: String(error) }),
    );
    const events = new EventSource('/api/events');
    events.onmessage = (event: MessageEvent<string>) =>
      setState({ files: JSON.parse(event.data) as FileInfo[] });
    return () => events.close();
  }, []);
  return state;
}

function Home(props: { files: FileInfo[] }): JSX.Element {
  return (
    <main class="home">
      <h2>Open files</h2>
      <ul class="file-cards">
        {props.files.map((f) => {
          const url = routeUrl({ file: f.path, filters: {}, offset: 0 });
          return (
            <li key={f.id} class="file-card">
              <a href={url} onClick={linkHandler(url)} class="file-path">
                {f.path}
              </a>{' '}
              <span class="count">{f.count} items</span>
              <FileMeta file={f} />
            </li>
          );
        })}
      </ul>
    </main>
  );
}

function TopBar(props: { files: FileInfo[]; current?: FileInfo; route: Route }): JSX.Element {
  const { current, route } = props;
  const compareUrl =
    current !== undefined
      ? routeUrl({ view: 'compare', file: current.path, filters: {}, offset: 0 })
      : undefined;
  return (
    <header class="top">
      <a class="brand" href="/" onClick={linkHandler('/')}>
        toolalpaca view
      </a>
      <nav class="file-tabs">
        {props.files.map((f) => {
          const url = routeUrl({ file: f.path, filters: {}, offset: 0 });
          return (
            <a
              key={f.id}
              href={url}
              onClick={linkHandler(url)}
              class={current?.id === f.id ? 'file-tab on' : 'file-tab'}
              title={`${FILE_KIND_LABELS[f.kind]} · ${f.absPath}`}
            >
              {f.path.split('/').pop()}
              <span class="count">{f.count}</span>
              {f.indexing ? (
                <span class="spinner" aria-label="reading">
                  …
                </span>
              ) : null}
            </a>
          );
        })}
      </nav>
      {current?.comparable === true && compareUrl !== undefined && route.view !== 'compare' ? (
        <a class="compare-link" href={compareUrl} onClick={linkHandler(compareUrl)}>
          compare…
        </a>
      ) : null}
    </header>
  );
}

function App(): JSX.Element {
  const route = useRoute();
  const { files, error } = useFiles();
  if (error !== undefined) return <p class="error">{error}</p>;
  if (files === undefined) return <p class="loading">loading…</p>;
  const file = resolveFile(files, route.file);
  let body: JSX.Element;
  if (route.file !== undefined && file === undefined) {
    body = <p class="error">No open file is named {route.file}.</p>;
  } else if (file === undefined) {
    body = <Home files={files} />;
  } else if (route.view === 'compare') {
    const b = resolveFile(files, route.b);
    body = <CompareView files={files} a={file} {...(b !== undefined ? { b } : {})} route={route} />;
  } else if (route.item !== undefined || route.n !== undefined) {
    body = <ItemView key={`${file.id}`} file={file} route={route} />;
  } else {
    body = <ListView key={file.id} file={file} route={route} />;
  }
  return (
    <>
      <TopBar files={files} {...(file !== undefined ? { current: file } : {})} route={route} />
      {body}
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
