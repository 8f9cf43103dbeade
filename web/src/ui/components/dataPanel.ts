// SPDX-License-Identifier: Apache-2.0
// "Connect data": file inputs for a task's data type, a preview (counts per label, thumbnails,
// first rows) and the hand-over to the engine. Decoding and checking is the engine's job; a
// refused file comes back as a rejected promise whose message names it.
import type { DataRole, DataSource, DataSummary, ImageFile, TaskJson } from '../../engine/protocol';
import { csvHeader, parseCsv } from '../csv';
import {
  checkMapping,
  countLabels,
  defaultMapping,
  firstPerLabel,
  groupByFolder,
  isJunkFile,
  mappingForEngine,
  matchLabels,
  parseLabelsCsv,
  requiredColumns,
  tabularColumns,
  textLines,
  type Labelled,
} from '../dataPrep';
import { errorText, h, mount, uid } from '../dom';

export interface DataNames {
  /** Image files (with a labels CSV, or unlabelled for prediction). */
  images: string;
  labelsCsv: string;
  folders: string;
  csv: string;
  text: string;
  connect: string;
}

export const TRAIN_NAMES: DataNames = {
  images: 'Image files',
  labelsCsv: 'Labels CSV',
  folders: 'Image folders',
  csv: 'CSV file',
  text: 'Text files',
  connect: 'Connect data',
};
export const PREDICT_NAMES: DataNames = {
  images: 'Images to predict',
  labelsCsv: '',
  folders: 'Folders to predict',
  csv: 'CSV to predict',
  text: 'Texts to predict',
  connect: 'Connect prediction data',
};

export interface DataPanelOptions {
  task: TaskJson;
  role: DataRole;
  names: DataNames;
  connect(source: DataSource): Promise<DataSummary>;
  /** Called after a successful connection with a way to read the same data again. */
  onConnected?(summary: DataSummary, rebuild: () => Promise<DataSource>): void;
}

export interface DataPanel {
  root: HTMLElement;
}

type Pending = { kind: 'ready'; build: () => Promise<DataSource>; what: string } | { kind: 'none' };

function taskLabels(task: TaskJson): string[] {
  const d = (task.data ?? {}) as Record<string, unknown>;
  return Array.isArray(d.labels) ? d.labels.filter((x): x is string => typeof x === 'string') : [];
}

export function dataType(task: TaskJson): string {
  const d = (task.data ?? {}) as Record<string, unknown>;
  return typeof d.type === 'string' ? d.type : 'unknown';
}

/** "3 image files" (a selection, before the engine counted the samples). */
const filesText = (n: number) => `${n} image file${n === 1 ? '' : 's'}`;

/** "60 images", "344 rows", "12 samples". */
export function countText(type: string, n: number): string {
  const unit = type === 'image' ? 'image' : type === 'tabular' ? 'row' : 'sample';
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function fileInput(label: string, opts: { multiple?: boolean; accept?: string; folders?: boolean }) {
  const input = h('input', { type: 'file', id: uid('file'), multiple: !!opts.multiple, accept: opts.accept ?? null });
  if (opts.folders) {
    input.setAttribute('webkitdirectory', '');
    input.setAttribute('directory', '');
  }
  return { input, root: h('div', { class: 'field' }, h('label', { for: input.id }, label), input) };
}

/** Files of a drop, with their paths inside dropped folders. */
async function droppedFiles(dt: DataTransfer): Promise<{ path: string; file: File }[]> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const out: { path: string; file: File }[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ path: entry.fullPath.replace(/^\//, ''), file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  if (entries.length === 0) return [...dt.files].map((file) => ({ path: file.name, file }));
  for (const e of entries) await walk(e);
  return out;
}

async function imageSource(items: Labelled<File>[] | { item: File; name: string; label: null }[], progress: (n: number) => void): Promise<DataSource> {
  const files: ImageFile[] = [];
  for (const it of items) {
    files.push({ name: it.name, label: it.label, bytes: await it.item.arrayBuffer() });
    if (files.length % 200 === 0) progress(files.length);
  }
  return { kind: 'images', files };
}

export function dataPanel(opts: DataPanelOptions): DataPanel {
  const { task, role, names } = opts;
  const type = dataType(task);
  const labels = taskLabels(task);
  const labelled = role !== 'predict';
  let pending: Pending = { kind: 'none' };
  const urls: string[] = [];

  const preview = h('div', { class: 'preview' });
  const problems = h('div', { class: 'problems', role: 'alert' });
  const summary = h('p', { class: 'summary', role: 'status' });
  const connectBtn = h('button', { type: 'button', class: 'primary', disabled: true }, names.connect);

  const showProblems = (errors: string[], warnings: string[] = []) => {
    mount(
      problems,
      errors.length > 0 &&
        h('div', { class: 'error-box' }, h('p', null, errors.length === 1 ? 'Problem:' : 'Problems:'), h('ul', null, errors.slice(0, 20).map((e) => h('li', null, e))), errors.length > 20 && h('p', null, `and ${errors.length - 20} more`)),
      warnings.map((w) => h('p', { class: 'warning' }, w)),
    );
  };
  const setPending = (p: Pending) => {
    pending = p;
    connectBtn.disabled = p.kind === 'none';
    summary.textContent = p.kind === 'ready' ? `Selected ${p.what}. Press "${names.connect}" to check and use it.` : '';
    summary.classList.toggle('pending', p.kind === 'ready');
  };
  const clearUrls = () => urls.splice(0).forEach((u) => URL.revokeObjectURL(u));

  const imagePreview = (items: { item: File; name: string; label: string | null }[]) => {
    clearUrls();
    if (items.length === 0) return mount(preview);
    const byLabel = labelled
      ? firstPerLabel(items as Labelled<File>[], 4)
      : new Map([['Images', items.slice(0, 8) as Labelled<File>[]]]);
    const counts = labelled ? countLabels(items.map((i) => i.label!), labels) : [];
    mount(
      preview,
      labelled &&
        h(
          'table',
          { class: 'counts' },
          h('caption', null, 'Images per label'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'Images'))),
          h('tbody', null, counts.map(([l, n]) => h('tr', { class: n === 0 ? 'zero' : null }, h('th', { scope: 'row' }, l), h('td', null, n)))),
        ),
      h(
        'div',
        { class: 'thumbs' },
        [...byLabel.entries()].map(([label, list]) =>
          h(
            'div',
            { class: 'thumb-group' },
            h('p', { class: 'thumb-label' }, label),
            h(
              'div',
              { class: 'thumb-row' },
              list.map((it) => {
                const url = URL.createObjectURL(it.item);
                urls.push(url);
                return h('img', { src: url, alt: `${label}: ${it.name}`, width: 56, height: 56, loading: 'lazy' });
              }),
            ),
          ),
        ),
      ),
    );
  };

  const reading = (n: number) => (summary.textContent = `Reading files… ${n}`);
  const body = h('div', { class: 'data-inputs' });

  if (type === 'image') {
    let folderFiles: { path: string; file: File }[] = [];
    let looseFiles: File[] = [];
    let csvFile: File | null = null;
    let method: 'folders' | 'files' = 'folders';

    const evaluate = async () => {
      if (method === 'folders') {
        const files = folderFiles.filter((f) => !isJunkFile(f.path));
        if (!labelled) {
          const items = files.map((f) => ({ item: f.file, name: f.path.split('/').pop()!, label: null }));
          showProblems([]);
          imagePreview(items);
          return setPending(items.length ? { kind: 'ready', what: filesText(items.length), build: () => imageSource(items, reading) } : { kind: 'none' });
        }
        const g = groupByFolder(files.map((f) => ({ path: f.path, item: f.file })), labels);
        showProblems(g.errors);
        imagePreview(g.items);
        const folders = new Set(g.items.map((i) => i.label)).size;
        return setPending(
          g.items.length > 0 && g.errors.length === 0
            ? { kind: 'ready', what: `${filesText(g.items.length)} in ${folders} label folder${folders === 1 ? '' : 's'}`, build: () => imageSource(g.items, reading) }
            : { kind: 'none' },
        );
      }
      const files = looseFiles.filter((f) => !isJunkFile(f.name));
      if (!labelled) {
        const items = files.map((f) => ({ item: f, name: f.name, label: null }));
        showProblems([]);
        imagePreview(items);
        return setPending(items.length ? { kind: 'ready', what: filesText(items.length), build: () => imageSource(items, reading) } : { kind: 'none' });
      }
      if (!csvFile) {
        imagePreview([]);
        showProblems([], files.length ? [`${filesText(files.length)} selected: now choose the labels CSV (filename,label).`] : []);
        return setPending({ kind: 'none' });
      }
      const parsed = parseLabelsCsv(await csvFile.text(), csvFile.name, labels);
      const m = matchLabels(files.map((f) => ({ name: f.name, item: f })), parsed.labels);
      const errors = [...parsed.errors, ...m.unlabelled.map((n) => `${n}: not listed in ${csvFile!.name}`)];
      const warnings: string[] = [];
      if (files.length === 0) warnings.push('Now choose the image files listed in the CSV.');
      else if (m.unused > 0) warnings.push(`${m.unused} row${m.unused === 1 ? '' : 's'} of ${csvFile.name} name images you did not select; they are ignored.`);
      showProblems(errors, warnings);
      imagePreview(m.items);
      setPending(m.items.length > 0 && errors.length === 0 ? { kind: 'ready', what: filesText(m.items.length), build: () => imageSource(m.items, reading) } : { kind: 'none' });
    };

    const folders = fileInput(names.folders, { folders: true, multiple: true });
    folders.input.addEventListener('change', () => {
      folderFiles = [...(folders.input.files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
      method = 'folders';
      void evaluate();
    });
    const images = fileInput(names.images, { multiple: true, accept: 'image/*' });
    images.input.addEventListener('change', () => {
      looseFiles = [...(images.input.files ?? [])];
      method = 'files';
      void evaluate();
    });
    const csv = labelled ? fileInput(names.labelsCsv, { accept: '.csv,text/csv' }) : null;
    csv?.input.addEventListener('change', () => {
      csvFile = csv.input.files?.[0] ?? null;
      method = 'files';
      void evaluate();
    });

    const drop = h(
      'div',
      { class: 'dropzone' },
      h('p', { class: 'drop-text' }, labelled ? 'Drop label folders here (one folder per label), or choose them:' : 'Drop images or folders here, or choose them:'),
      folders.root,
    );
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (!e.dataTransfer) return;
      void droppedFiles(e.dataTransfer).then((files) => {
        if (labelled && files.every((f) => !f.path.includes('/'))) {
          looseFiles = files.map((f) => f.file);
          method = 'files';
        } else {
          folderFiles = files;
          method = 'folders';
        }
        void evaluate();
      });
    });

    mount(
      body,
      h('div', { class: 'choice' }, h('h4', null, labelled ? 'Images in label folders' : 'Images in folders'), drop),
      h(
        'div',
        { class: 'choice' },
        h('h4', null, labelled ? 'Image files with a labels CSV' : 'Image files'),
        labelled && h('p', { class: 'hint' }, 'Works on phones: pick the photos, then a CSV with the header "filename,label".'),
        images.root,
        csv?.root,
      ),
    );
  } else if (type === 'tabular') {
    const cols = tabularColumns(task);
    const required = requiredColumns(cols, labelled);
    const csv = fileInput(names.csv, { accept: '.csv,text/csv' });
    const mapping = h('div', { class: 'mapping' });
    csv.input.addEventListener('change', async () => {
      const file = csv.input.files?.[0];
      mount(mapping);
      mount(preview);
      if (!file) return setPending({ kind: 'none' });
      const text = await file.text();
      const header = csvHeader(text);
      const map = defaultMapping(required, header);
      const rows = parseCsv(text, 6);
      mount(
        preview,
        h(
          'div',
          { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'First rows' },
          h(
            'table',
            null,
            h('caption', null, `First rows of ${file.name}`),
            h('thead', null, h('tr', null, (rows[0] ?? []).map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', null, rows.slice(1).map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
          ),
        ),
      );
      const check = () => {
        const errors = checkMapping(required, map, header);
        showProblems(errors);
        setPending(
          errors.length === 0
            ? {
                kind: 'ready',
                what: file.name,
                build: async () => ({ kind: 'csv', name: file.name, bytes: await file.arrayBuffer(), columns: mappingForEngine(map) }),
              }
            : { kind: 'none' },
        );
      };
      mount(
        mapping,
        h(
          'fieldset',
          null,
          h('legend', null, 'Column mapping'),
          h('p', { class: 'hint' }, 'Choose the CSV column for each task column.'),
          h(
            'div',
            { class: 'mapping-grid' },
            required.map((c) => {
              const sel = h(
                'select',
                { id: uid('map'), onchange: (e: Event) => ((map[c] = (e.target as HTMLSelectElement).value), check()) },
                h('option', { value: '' }, '(missing)'),
                header.map((hc) => h('option', { value: hc, selected: map[c] === hc }, hc)),
              );
              const isOut = cols.outputs.includes(c);
              return h('div', { class: 'field' }, h('label', { for: sel.id }, c, isOut ? ' (label)' : ''), sel);
            }),
          ),
        ),
      );
      check();
    });
    mount(body, csv.root, mapping);
  } else if (type === 'text') {
    const text = fileInput(names.text, { multiple: true, accept: '.txt,text/plain' });
    text.input.addEventListener('change', async () => {
      const files = [...(text.input.files ?? [])];
      if (files.length === 0) {
        mount(preview);
        return setPending({ kind: 'none' });
      }
      const first = await files[0].text();
      const lines = textLines(first);
      mount(
        preview,
        h('p', null, `${files[0].name}: ${lines.length} non-empty lines`, files.length > 1 ? ` (and ${files.length - 1} more file${files.length > 2 ? 's' : ''})` : ''),
        h('pre', { class: 'text-preview' }, lines.slice(0, 5).join('\n')),
      );
      showProblems([]);
      setPending({
        kind: 'ready',
        what: files.length === 1 ? files[0].name : `${files.length} text files`,
        build: async () => {
          const parts = await Promise.all(files.map((f) => f.arrayBuffer()));
          if (parts.length === 1) return { kind: 'text', name: files[0].name, bytes: parts[0] };
          const nl = new Uint8Array([10]);
          const total = parts.reduce((n, p) => n + p.byteLength + 1, 0);
          const out = new Uint8Array(total);
          let at = 0;
          for (const p of parts) {
            out.set(new Uint8Array(p), at);
            at += p.byteLength;
            out.set(nl, at++);
          }
          return { kind: 'text', name: files.map((f) => f.name).join('+'), bytes: out.buffer };
        },
      });
    });
    mount(body, text.root);
  } else {
    mount(body, h('p', { class: 'error-box' }, `This app cannot read "${type}" data.`));
  }

  connectBtn.addEventListener('click', async () => {
    if (pending.kind !== 'ready') return;
    const build = pending.build;
    connectBtn.disabled = true;
    connectBtn.setAttribute('aria-busy', 'true');
    summary.textContent = 'Reading and checking the data…';
    summary.classList.add('pending');
    showProblems([]);
    try {
      const source = await build();
      summary.textContent = 'Checking the data…';
      const result = await opts.connect(source);
      const per = Object.entries(result.perLabel);
      summary.classList.remove('pending');
      summary.replaceChildren(
        h('strong', null, `Connected ${countText(type, result.count)}`),
        per.length > 0 ? ` (${per.map(([l, n]) => `${l}: ${n}`).join(', ')})` : '',
      );
      opts.onConnected?.(result, build);
    } catch (e) {
      summary.textContent = '';
      showProblems([errorText(e)]);
    } finally {
      connectBtn.disabled = false;
      connectBtn.removeAttribute('aria-busy');
    }
  });

  const root = h('div', { class: 'data-panel' }, body, problems, preview, h('div', { class: 'actions' }, connectBtn), summary);
  return { root };
}
