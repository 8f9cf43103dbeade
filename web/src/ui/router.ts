// SPDX-License-Identifier: Apache-2.0
// A tiny router on the History API: pure route matching plus link interception. `disco serve`
// answers unknown extension-less paths with index.html, so deep links work.

export type Route =
  | { name: 'tasks' }
  | { name: 'task'; id: string }
  | { name: 'models' }
  | { name: 'create' }
  | { name: 'notFound'; path: string };

/** Maps a URL path to a route; trailing slashes are ignored. */
export function matchRoute(path: string): Route {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (clean === '/' || clean === '') return { name: 'tasks' };
  if (clean === '/models') return { name: 'models' };
  if (clean === '/create') return { name: 'create' };
  const m = /^\/tasks\/([^/]+)$/.exec(clean);
  if (m) {
    try {
      return { name: 'task', id: decodeURIComponent(m[1]) };
    } catch {
      return { name: 'notFound', path };
    }
  }
  return { name: 'notFound', path };
}

export function taskPath(id: string): string {
  return `/tasks/${encodeURIComponent(id)}`;
}

/** True when a click on a link should be handled by the router instead of the browser. */
export function isRouterClick(
  e: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean; defaultPrevented: boolean },
  href: string | null,
  target: string | null,
  download: boolean,
): boolean {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return false;
  if (!href || download || (target && target !== '_self')) return false;
  return href.startsWith('/') && !href.startsWith('//') && !href.startsWith('/api/');
}

type Listener = (path: string) => void;
let listener: Listener | null = null;

/** Starts routing: calls `onRoute` now, on link clicks and on back/forward. */
export function startRouter(onRoute: Listener): void {
  listener = onRoute;
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a) return;
    if (!isRouterClick(e, a.getAttribute('href'), a.getAttribute('target'), a.hasAttribute('download'))) return;
    e.preventDefault();
    navigate(a.getAttribute('href')!);
  });
  window.addEventListener('popstate', () => onRoute(location.pathname));
  onRoute(location.pathname);
}

export function navigate(path: string): void {
  if (path !== location.pathname) history.pushState(null, '', path);
  listener?.(location.pathname);
}
