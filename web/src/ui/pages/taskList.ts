// SPDX-License-Identifier: Apache-2.0
// The task list (`/`): one card per task, each a link to its page.
import { getTasks } from '../../api/client';
import { errorText, h, mount } from '../dom';
import { taskPath } from '../router';
import { schemeName, viewTask } from '../taskInfo';

export function renderTaskList(main: HTMLElement): () => void {
  let disposed = false;
  document.title = 'Tasks · disco';
  const list = h('div', { class: 'loading', role: 'status' }, 'Loading tasks…');
  mount(
    main,
    h(
      'header',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Tasks'),
      h('p', { class: 'lead' }, 'Train a model together with others, right here in your browser. Your data stays on your device: only model updates are shared.'),
    ),
    list,
  );
  main.querySelector('h1')?.focus();
  getTasks().then(
    (tasks) => {
      if (disposed) return;
      const views = tasks.map(viewTask).sort((a, b) => a.title.localeCompare(b.title));
      if (views.length === 0) {
        list.replaceWith(h('p', { class: 'empty' }, 'No tasks yet. ', h('a', { href: '/create' }, 'Create one'), '.'));
        return;
      }
      list.replaceWith(
        h(
          'ul',
          { class: 'task-grid', 'aria-label': 'Tasks' },
          views.map((v) =>
            h(
              'li',
              { class: 'card task-card' },
              h('h2', null, h('a', { href: taskPath(v.id), class: 'stretched' }, v.title)),
              v.summary && h('p', null, v.summary),
              h(
                'ul',
                { class: 'badges' },
                h('li', { class: `badge ${v.federation.scheme}` }, schemeName(v.federation.scheme)),
                h('li', { class: 'badge' }, v.dataType),
                v.federation.scheme !== 'local' && h('li', { class: 'badge subtle' }, `${v.federation.minParticipants}+ participants`),
              ),
            ),
          ),
        ),
      );
    },
    (e) => {
      if (disposed) return;
      list.replaceWith(
        h(
          'div',
          { class: 'error-box', role: 'alert' },
          h('p', null, `Could not load the tasks: ${errorText(e)}`),
          h('button', { type: 'button', onclick: () => location.reload() }, 'Reload'),
        ),
      );
    },
  );
  return () => {
    disposed = true;
  };
}
