// SPDX-License-Identifier: Apache-2.0
// Preparing the user's files for the engine (UI logic only: grouping files by folder, matching a
// labels CSV, mapping CSV columns, counting). Decoding and checking the data is the engine's job.
import { parseCsv } from './csv';

/** Files the user should not have to remove by hand (OS metadata). */
export function isJunkFile(path: string): boolean {
  const name = baseName(path);
  return name.startsWith('.') || name === 'Thumbs.db' || name === 'desktop.ini' || path.includes('__MACOSX/');
}

export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

export function stripExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** The folder directly containing a file ("data/cat/1.png" -> "cat"), or null at the top level. */
export function parentFolder(path: string): string | null {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  return parts.length >= 2 ? parts[parts.length - 2] : null;
}

const normalise = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');

/** The task label a folder name stands for: the label itself, ignoring case; the label with its
 *  punctuation written differently (a folder cannot be named "T-shirt/top": "T-shirt_top"); or
 *  the label's index. Null when none fits. */
export function resolveLabel(folder: string, labels: readonly string[]): string | null {
  if (labels.includes(folder)) return folder;
  const lower = labels.find((l) => l.toLowerCase() === folder.toLowerCase());
  if (lower !== undefined) return lower;
  const n = normalise(folder);
  if (n !== '') {
    const matches = labels.filter((l) => normalise(l) === n);
    if (matches.length === 1) return matches[0];
  }
  if (/^\d+$/.test(folder)) {
    const i = Number(folder);
    if (i < labels.length && !labels.includes(String(i))) return labels[i];
  }
  return null;
}

export interface Labelled<T> {
  item: T;
  name: string;
  label: string;
}

export interface Grouping<T> {
  items: Labelled<T>[];
  /** Problems, each naming a file or folder. */
  errors: string[];
}

/** Labels files by their parent folder (images in label folders). When the task lists labels,
 *  folder names must resolve to one of them. */
export function groupByFolder<T>(files: { path: string; item: T }[], labels: readonly string[]): Grouping<T> {
  const items: Labelled<T>[] = [];
  const errors: string[] = [];
  const unknown = new Set<string>();
  for (const f of files) {
    if (isJunkFile(f.path)) continue;
    const folder = parentFolder(f.path);
    if (folder === null) {
      errors.push(`${f.path}: not in a label folder (put each image in a folder named after its label)`);
      continue;
    }
    const label = labels.length > 0 ? resolveLabel(folder, labels) : folder;
    if (label === null) {
      unknown.add(folder);
      continue;
    }
    items.push({ item: f.item, name: baseName(f.path), label });
  }
  for (const folder of unknown)
    errors.push(`Folder "${folder}" is not one of the task's labels (${labels.join(', ')})`);
  return { items, errors };
}

export interface LabelsCsv {
  /** File name -> label. */
  labels: Map<string, string>;
  errors: string[];
}

/** Reads a labels CSV: a header with columns `filename` and `label` (any order, case-insensitive),
 *  then one row per image. `source` names the file in messages. */
export function parseLabelsCsv(text: string, source: string, taskLabels: readonly string[]): LabelsCsv {
  const rows = parseCsv(text);
  const labels = new Map<string, string>();
  const errors: string[] = [];
  if (rows.length === 0) return { labels, errors: [`${source}: the file is empty`] };
  const header = rows[0].map((c) => c.trim().toLowerCase());
  const fi = header.indexOf('filename');
  const li = header.indexOf('label');
  if (fi < 0 || li < 0)
    return { labels, errors: [`${source}: the first line must be the header "filename,label"`] };
  for (let r = 1; r < rows.length; r++) {
    const file = (rows[r][fi] ?? '').trim();
    const raw = (rows[r][li] ?? '').trim();
    const line = `${source}:${r + 1}`;
    if (file === '') {
      errors.push(`${line}: missing file name`);
      continue;
    }
    const label = taskLabels.length > 0 ? resolveLabel(raw, taskLabels) : raw;
    if (label === null || label === '') {
      errors.push(`${line}: "${raw}" is not one of the task's labels`);
      continue;
    }
    if (labels.has(file)) {
      errors.push(`${line}: "${file}" appears twice`);
      continue;
    }
    labels.set(file, label);
  }
  return { labels, errors };
}

/** Matches image files to a labels CSV by file name, or by name without extension. */
export function matchLabels<T>(
  files: { name: string; item: T }[],
  labels: Map<string, string>,
): { items: Labelled<T>[]; unlabelled: string[]; unused: number } {
  const byStem = new Map<string, string>();
  for (const [k, v] of labels) byStem.set(stripExtension(baseName(k)), v);
  const items: Labelled<T>[] = [];
  const unlabelled: string[] = [];
  const used = new Set<string>();
  for (const f of files) {
    if (isJunkFile(f.name)) continue;
    const name = baseName(f.name);
    let label = labels.get(f.name) ?? labels.get(name);
    let key = labels.has(f.name) ? f.name : name;
    if (label === undefined) {
      key = stripExtension(name);
      label = byStem.get(key);
    }
    if (label === undefined) unlabelled.push(name);
    else {
      used.add(key);
      items.push({ item: f.item, name, label });
    }
  }
  return { items, unlabelled, unused: Math.max(0, labels.size - used.size) };
}

/** Samples per label, in the task's label order (unknown labels last). */
export function countLabels(labels: Iterable<string>, order: readonly string[] = []): [string, number][] {
  const counts = new Map<string, number>();
  for (const l of order) counts.set(l, 0);
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts.entries()];
}

/** The first few items of each label (for thumbnails). */
export function firstPerLabel<T>(items: Labelled<T>[], n: number): Map<string, Labelled<T>[]> {
  const out = new Map<string, Labelled<T>[]>();
  for (const it of items) {
    const list = out.get(it.label) ?? [];
    if (list.length < n) list.push(it);
    out.set(it.label, list);
  }
  return out;
}

// ---- tabular column mapping ----

export interface TabularColumns {
  inputs: string[];
  outputs: string[];
}

/** The task's tabular columns (empty for non-tabular tasks). */
export function tabularColumns(task: Record<string, unknown>): TabularColumns {
  const data = (task.data ?? {}) as Record<string, unknown>;
  const t = (data.tabular ?? {}) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return { inputs: list(t.input_columns), outputs: list(t.output_columns) };
}

/** The columns a role needs: inputs, plus the outputs unless predicting. */
export function requiredColumns(cols: TabularColumns, withOutputs: boolean): string[] {
  return withOutputs ? [...cols.inputs, ...cols.outputs] : [...cols.inputs];
}

/** Task column -> CSV column: the same name, else the same name ignoring case and spaces, else ''. */
export function defaultMapping(taskColumns: string[], header: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of taskColumns) {
    if (header.includes(c)) out[c] = c;
    else out[c] = header.find((h) => normalise(h) === normalise(c)) ?? '';
  }
  return out;
}

/** Problems with a mapping: unmapped columns, columns not in the CSV, a CSV column used twice. */
export function checkMapping(taskColumns: string[], mapping: Record<string, string>, header: string[]): string[] {
  const errors: string[] = [];
  const used = new Map<string, string>();
  for (const c of taskColumns) {
    const m = mapping[c] ?? '';
    if (m === '') errors.push(`Column "${c}" is missing: choose the CSV column that holds it`);
    else if (!header.includes(m)) errors.push(`Column "${c}": the CSV has no column "${m}"`);
    else if (used.has(m)) errors.push(`CSV column "${m}" is used for both "${used.get(m)}" and "${c}"`);
    else used.set(m, c);
  }
  return errors;
}

/** The mapping to send to the engine: only the columns that are renamed. */
export function mappingForEngine(mapping: Record<string, string>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(mapping)) if (v !== '' && v !== k) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Non-empty lines of a text (LF, CRLF or CR), for previews and counts. */
export function textLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/).filter((l) => l.trim() !== '');
}
