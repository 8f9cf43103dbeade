// SPDX-License-Identifier: Apache-2.0
// The model library (`/models`): models saved in this browser (IndexedDB).
import { library, modelFileName, type SavedModel } from '../../library/store';
import { download, errorText, h, mount } from '../dom';
import { formatBytes, formatDate, formatNumber, formatPercent } from '../format';
import { taskPath } from '../router';

function metricsText(m: SavedModel): string {
  const parts: string[] = [];
  const x = m.metrics;
  if (x.valAccuracy !== undefined && x.valAccuracy !== null) parts.push(`validation accuracy ${formatPercent(x.valAccuracy)}`);
  else if (x.accuracy !== undefined && x.accuracy !== null) parts.push(`accuracy ${formatPercent(x.accuracy)}`);
  if (x.valLoss !== undefined && x.valLoss !== null) parts.push(`validation loss ${formatNumber(x.valLoss)}`);
  else if (x.loss !== undefined && x.loss !== null) parts.push(`loss ${formatNumber(x.loss)}`);
  if (x.rounds) parts.push(`${x.rounds} round${x.rounds === 1 ? '' : 's'}`);
  if (x.epochs) parts.push(`${x.epochs} epoch${x.epochs === 1 ? '' : 's'}`);
  return parts.join(', ') || '–';
}

const SOURCE: Record<SavedModel['source'], string> = { trained: 'Trained here', server: 'Global model from the server', file: 'Imported' };

export function renderModels(main: HTMLElement): () => void {
  document.title = 'Models · disco';
  const lib = library();
  const listEl = h('div', { role: 'status', class: 'loading' }, 'Loading the library…');
  const msg = h('p', { class: 'note', role: 'status' });
  mount(
    main,
    h(
      'header',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Models'),
      h('p', { class: 'lead' }, 'Models saved in this browser. They never leave this device unless you download them.'),
    ),
    msg,
    listEl,
  );
  main.querySelector('h1')?.focus();
  let current: HTMLElement = listEl;

  const card = (m: SavedModel): HTMLElement => {
    const actions = h('div', { class: 'actions' });
    const title = h('h2', null, m.name);
    const showActions = () =>
      mount(
        actions,
        h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              try {
                download(modelFileName(m), await lib.bytes(m.id), 'application/octet-stream');
              } catch (e) {
                msg.textContent = `Could not read the model: ${errorText(e)}`;
              }
            },
          },
          'Download',
          h('span', { class: 'sr-only' }, ` ${m.name}`),
        ),
        h('button', { type: 'button', onclick: rename }, 'Rename', h('span', { class: 'sr-only' }, ` ${m.name}`)),
        h('button', { type: 'button', class: 'danger', onclick: confirmDelete }, 'Delete', h('span', { class: 'sr-only' }, ` ${m.name}`)),
      );
    function confirmDelete() {
      const yes = h(
        'button',
        {
          type: 'button',
          class: 'danger',
          onclick: async () => {
            await lib.remove(m.id);
            msg.textContent = `Deleted “${m.name}”.`;
            void refresh();
          },
        },
        'Confirm delete',
      );
      mount(actions, h('span', { class: 'confirm-text' }, `Delete “${m.name}”? This cannot be undone.`), yes, h('button', { type: 'button', onclick: showActions }, 'Cancel'));
      yes.focus();
    }
    function rename() {
      const input = h('input', { type: 'text', value: m.name, 'aria-label': 'New name', maxlength: 100 });
      const form = h(
        'form',
        {
          class: 'inline-form',
          onsubmit: async (e: Event) => {
            e.preventDefault();
            const name = input.value.trim();
            if (!name) return input.focus();
            await lib.rename(m.id, name);
            msg.textContent = `Renamed to “${name}”.`;
            void refresh();
          },
        },
        input,
        h('button', { type: 'submit' }, 'Save name'),
        h('button', { type: 'button', onclick: showActions }, 'Cancel'),
      );
      mount(actions, form);
      input.focus();
      input.select();
    }
    showActions();
    return h(
      'li',
      { class: 'card model-card' },
      title,
      h(
        'dl',
        { class: 'facts' },
        h('div', null, h('dt', null, 'Task'), h('dd', null, h('a', { href: taskPath(m.taskId) }, m.taskTitle))),
        h('div', null, h('dt', null, 'Saved'), h('dd', null, formatDate(m.savedAt))),
        h('div', null, h('dt', null, 'Size'), h('dd', null, formatBytes(m.size))),
        h('div', null, h('dt', null, 'Origin'), h('dd', null, SOURCE[m.source] ?? m.source)),
        h('div', null, h('dt', null, 'Metrics'), h('dd', null, metricsText(m))),
      ),
      actions,
    );
  };

  async function refresh() {
    let next: HTMLElement;
    try {
      const models = await lib.list();
      next =
        models.length === 0
          ? h('p', { class: 'empty' }, 'No saved models yet. Train a model on a ', h('a', { href: '/' }, 'task'), ' and press “Save to library”, or download a task’s global model.')
          : h('ul', { class: 'model-list', 'aria-label': 'Saved models' }, models.map(card));
    } catch (e) {
      next = h('p', { class: 'error-box', role: 'alert' }, `The library is not available in this browser: ${errorText(e)}`);
    }
    current.replaceWith(next);
    current = next;
  }
  void refresh();
  return () => {};
}
