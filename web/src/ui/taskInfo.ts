// SPDX-License-Identifier: Apache-2.0
// Reading a task document for display (the task JSON is untyped: every accessor is defensive).
import type { TaskJson } from '../engine/protocol';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export interface TaskView {
  id: string;
  title: string;
  summary: string;
  description: string;
  dataType: string;
  labels: string[];
  image: { height: number; width: number; channels: number } | null;
  tabular: { inputs: string[]; categorical: string[]; outputs: string[]; standardize: boolean; missing: string } | null;
  sequenceLength: number | null;
  model: { inputShape: number[]; layers: Obj[]; loss: string; optimizer: Obj; metrics: string[] };
  training: { epochs: number; batchSize: number; validationSplit: number; seed: number; roundDuration: number; rounds: number };
  federation: { scheme: string; minParticipants: number; aggregation: string; fraction: number; roundTimeout: number; extra: Obj };
  privacy: Obj | null;
}

/** The task with every default of docs/formats.md filled in. */
export function viewTask(t: TaskJson): TaskView {
  const data = obj(t.data);
  const model = obj(t.model);
  const training = obj(t.training);
  const fed = obj(t.federation);
  const dataType = str(data.type, 'unknown');
  const im = obj(data.image);
  const tab = obj(data.tabular);
  const epochs = num(training.epochs, 1);
  const roundDuration = num(training.round_duration, 1);
  const optimizer = typeof model.optimizer === 'string' ? { type: model.optimizer } : obj(model.optimizer);
  const extra: Obj = {};
  for (const k of ['buffer_size', 'staleness', 'server_optimizer', 'proximal_mu']) if (fed[k] !== undefined) extra[k] = fed[k];
  return {
    id: t.id,
    title: str(t.title, t.id) || t.id,
    summary: str(t.summary, ''),
    description: str(t.description, ''),
    dataType,
    labels: strs(data.labels),
    image: dataType === 'image' ? { height: num(im.height, 0), width: num(im.width, 0), channels: num(im.channels, 3) } : null,
    tabular:
      dataType === 'tabular'
        ? {
            inputs: strs(tab.input_columns),
            categorical: strs(tab.categorical_columns),
            outputs: strs(tab.output_columns),
            standardize: tab.standardize !== false,
            missing: str(tab.missing_values, 'impute'),
          }
        : null,
    sequenceLength: dataType === 'text' ? num(obj(data.text).sequence_length, 64) : null,
    model: {
      inputShape: Array.isArray(model.input_shape) ? (model.input_shape as number[]) : [],
      layers: Array.isArray(model.layers) ? (model.layers as unknown[]).map(obj) : [],
      loss: str(model.loss, 'categorical_crossentropy'),
      optimizer: { type: 'adam', ...optimizer },
      metrics: strs(model.metrics),
    },
    training: {
      epochs,
      batchSize: num(training.batch_size, 32),
      validationSplit: num(training.validation_split, 0),
      seed: num(training.seed, 0),
      roundDuration,
      rounds: Math.ceil(epochs / Math.max(1, roundDuration)),
    },
    federation: {
      scheme: str(fed.scheme, 'local'),
      minParticipants: num(fed.min_participants, 1),
      aggregation: str(fed.aggregation, 'sync'),
      fraction: num(fed.fraction, 1),
      roundTimeout: num(fed.round_timeout_s, 0),
      extra,
    },
    privacy: t.privacy !== undefined && t.privacy !== null ? obj(t.privacy) : null,
  };
}

/** One line describing a layer's settings: "8 filters, 5×5, relu". */
export function layerDetails(layer: Obj): string {
  const parts: string[] = [];
  const size = (v: unknown) => (Array.isArray(v) ? v.join('×') : typeof v === 'number' ? `${v}×${v}` : String(v));
  if (layer.units !== undefined) parts.push(`${layer.units} units`);
  if (layer.filters !== undefined) parts.push(`${layer.filters} filters`);
  if (layer.kernel_size !== undefined) parts.push(`kernel ${size(layer.kernel_size)}`);
  if (layer.pool_size !== undefined) parts.push(`pool ${size(layer.pool_size)}`);
  if (layer.strides !== undefined) parts.push(`stride ${size(layer.strides)}`);
  if (layer.padding !== undefined) parts.push(`padding ${layer.padding}`);
  if (layer.rate !== undefined) parts.push(`rate ${layer.rate}`);
  if (layer.activation !== undefined && layer.activation !== 'linear') parts.push(String(layer.activation));
  const known = new Set(['type', 'units', 'filters', 'kernel_size', 'pool_size', 'strides', 'padding', 'rate', 'activation']);
  for (const [k, v] of Object.entries(layer)) if (!known.has(k)) parts.push(`${k} ${JSON.stringify(v)}`);
  return parts.join(', ') || '–';
}

/** The privacy line of the task page. */
export function privacyText(v: TaskView): string {
  if (!v.privacy) return 'None: updates are sent unmodified';
  const entries = Object.entries(v.privacy);
  return entries.length === 0 ? 'None: updates are sent unmodified' : entries.map(([k, x]) => `${k}: ${JSON.stringify(x)}`).join(', ');
}

export function schemeName(scheme: string): string {
  return scheme === 'federated' ? 'Federated' : scheme === 'decentralized' ? 'Decentralized' : scheme === 'local' ? 'Local' : scheme;
}

/** "28×28 grayscale" / "32×32 RGB". */
export function imageText(im: { height: number; width: number; channels: number }): string {
  return `${im.height}×${im.width} ${im.channels === 1 ? 'grayscale' : im.channels === 3 ? 'RGB' : `${im.channels} channels`}`;
}

/** A folder name for a label (labels may contain "/", which folders cannot). */
export function folderName(label: string): string {
  return label.replace(/[/\\:*?"<>|]+/g, '_');
}
