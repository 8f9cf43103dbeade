// SPDX-License-Identifier: Apache-2.0
// The web app's entry: the page shell (header, nav, main) and the router.
import './styles.css';
import { renderCreateTask } from './ui/pages/createTask';
import { renderModels } from './ui/pages/models';
import { renderTaskList } from './ui/pages/taskList';
import { renderTaskPage } from './ui/pages/taskPage';
import { h, mount } from './ui/dom';
import { matchRoute, startRouter } from './ui/router';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
let dispose: (() => void) | null = null;
let first = true;

function setCurrent(path: string): void {
  for (const a of nav.querySelectorAll('a')) {
    const href = a.getAttribute('href')!;
    const current = href === '/' ? path === '/' || path.startsWith('/tasks/') : path.startsWith(href);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

startRouter((path) => {
  dispose?.();
  dispose = null;
  const route = matchRoute(path);
  setCurrent(path);
  switch (route.name) {
    case 'tasks':
      dispose = renderTaskList(main);
      break;
    case 'task':
      dispose = renderTaskPage(main, route.id);
      break;
    case 'models':
      dispose = renderModels(main);
      break;
    case 'create':
      dispose = renderCreateTask(main);
      break;
    case 'notFound':
      document.title = 'Not found · disco';
      mount(main, h('h1', { tabindex: -1 }, 'Page not found'), h('p', null, `There is no page at ${route.path}. `, h('a', { href: '/' }, 'See the tasks'), '.'));
      break;
  }
  if (!first) window.scrollTo(0, 0);
  else (document.activeElement as HTMLElement | null)?.blur?.();
  first = false;
});
