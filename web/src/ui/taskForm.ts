// SPDX-License-Identifier: Apache-2.0
// The "Create a task" form's values -> a task document (docs/formats.md), with client-side
// checks of required and numeric fields, model presets, and server error paths -> form controls.
import type { TaskJson } from '../engine/protocol';
import { messageOf } from '../engine/runtime';

export type DataType = 'image' | 'tabular' | 'text';
export type ModelPreset = 'auto' | 'mnist-cnn' | 'tabular-mlp' | 'text-mlp' | 'custom';

export interface TaskFormValues {
  id: string;
  title: string;
  summary: string;
  description: string;
  dataType: DataType;
  labels: string;
  imageHeight: string;
  imageWidth: string;
  imageChannels: string;
  inputColumns: string;
  categoricalColumns: string;
  outputColumn: string;
  standardize: boolean;
  inputWidth: string;
  sequenceLength: string;
  modelPreset: ModelPreset;
  /** Text of an uploaded model spec JSON file (preset "custom"). */
  modelSpecText: string;
  epochs: string;
  roundDuration: string;
  batchSize: string;
  validationSplit: string;
  seed: string;
  optimizer: string;
  learningRate: string;
  scheme: string;
  minParticipants: string;
  aggregation: string;
  roundTimeout: string;
  joinToken: string;
}

/** A form control key (a TaskFormValues key, or "modelFile"). */
export type Control = keyof TaskFormValues | 'modelFile';

export interface FieldError {
  control: Control | undefined;
  message: string;
}

export const DEFAULT_VALUES: TaskFormValues = {
  id: '',
  title: '',
  summary: '',
  description: '',
  dataType: 'image',
  labels: '',
  imageHeight: '28',
  imageWidth: '28',
  imageChannels: '1',
  inputColumns: '',
  categoricalColumns: '',
  outputColumn: '',
  standardize: true,
  inputWidth: '',
  sequenceLength: '64',
  modelPreset: 'auto',
  modelSpecText: '',
  epochs: '5',
  roundDuration: '1',
  batchSize: '32',
  validationSplit: '0.1',
  seed: '1',
  optimizer: 'adam',
  learningRate: '0.001',
  scheme: 'federated',
  minParticipants: '2',
  aggregation: 'sync',
  roundTimeout: '0',
  joinToken: '',
};

export const PRESET_NAMES: Record<ModelPreset, string> = {
  auto: 'Automatic: the preset for the data type',
  'mnist-cnn': 'MNIST CNN (DISCO): images',
  'tabular-mlp': 'Small MLP: tabular',
  'text-mlp': 'Byte-level MLP: text (experimental)',
  custom: 'Upload a model spec (JSON)',
};

/** The preset that fits a data type. */
export function presetFor(type: DataType): Exclude<ModelPreset, 'custom' | 'auto'> {
  return type === 'image' ? 'mnist-cnn' : type === 'tabular' ? 'tabular-mlp' : 'text-mlp';
}

/** A comma- or line-separated list, trimmed, without empty items. */
export function splitList(text: string): string[] {
  return text
    .split(/[,\n\r]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Text-mode byte vocabulary of the core's text data (256 bytes + padding). */
export const TEXT_VOCAB = 257;

/** Layers of the model presets for the given sizes. */
export function presetModel(
  preset: Exclude<ModelPreset, 'custom' | 'auto'>,
  sizes: { inputShape: number[]; outputs: number; regression: boolean },
  optimizer: { type: string; learning_rate: number },
): Record<string, unknown> {
  const head = (units: number) =>
    sizes.regression ? { type: 'dense', units: 1 } : { type: 'dense', units, activation: 'softmax' };
  const loss = sizes.regression ? 'mean_squared_error' : 'sparse_categorical_crossentropy';
  let layers: Record<string, unknown>[];
  if (preset === 'mnist-cnn')
    layers = [
      { type: 'conv2d', filters: 8, kernel_size: 5, activation: 'relu' },
      { type: 'conv2d', filters: 16, kernel_size: 5, activation: 'relu' },
      { type: 'max_pool2d', pool_size: 2 },
      { type: 'dropout', rate: 0.25 },
      { type: 'flatten' },
      { type: 'dense', units: 32, activation: 'relu' },
      { type: 'dropout', rate: 0.25 },
      head(sizes.outputs),
    ];
  else if (preset === 'tabular-mlp')
    layers = [
      { type: 'dense', units: 32, activation: 'relu' },
      { type: 'dense', units: 16, activation: 'relu' },
      head(sizes.outputs),
    ];
  else layers = [{ type: 'dense', units: 128, activation: 'relu' }, head(sizes.outputs)];
  return {
    input_shape: sizes.inputShape,
    layers,
    loss: preset === 'mnist-cnn' && !sizes.regression ? 'categorical_crossentropy' : loss,
    optimizer,
    metrics: sizes.regression ? [] : ['accuracy'],
  };
}

const isInt = (s: string) => /^\s*\d+\s*$/.test(s);

/** Builds the task document, or lists every problem found. */
export function buildTask(v: TaskFormValues): { task?: TaskJson; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const err = (control: Control, message: string) => errors.push({ control, message });
  const posInt = (control: keyof TaskFormValues, label: string): number => {
    const s = String(v[control]);
    if (s.trim() === '') err(control, `${label} is required`);
    else if (!isInt(s) || Number(s) <= 0) err(control, `${label} must be a positive whole number`);
    return Number(s);
  };
  const num = (control: keyof TaskFormValues, label: string, ok: (n: number) => boolean, rule: string): number => {
    const s = String(v[control]).trim();
    const n = Number(s);
    if (s === '') err(control, `${label} is required`);
    else if (!Number.isFinite(n) || !ok(n)) err(control, `${label} ${rule}`);
    return n;
  };

  const id = v.id.trim();
  if (id === '') err('id', 'Task id is required');
  else if (!/^[A-Za-z0-9_-]{1,64}$/.test(id))
    err('id', "Task id: 1 to 64 letters, digits, '-' or '_'");

  const labels = splitList(v.labels);
  if (new Set(labels).size !== labels.length) err('labels', 'Labels must be distinct');
  const data: Record<string, unknown> = { type: v.dataType };
  if (labels.length > 0) data.labels = labels;
  let inputShape: number[] = [];
  if (v.dataType === 'image') {
    if (labels.length < 2) err('labels', 'Image tasks need at least 2 labels');
    const h = posInt('imageHeight', 'Image height');
    const w = posInt('imageWidth', 'Image width');
    const c = Number(v.imageChannels);
    if (c !== 1 && c !== 3) err('imageChannels', 'Channels must be 1 or 3');
    data.image = { height: h, width: w, channels: c };
    inputShape = [h, w, c];
  } else if (v.dataType === 'tabular') {
    const inputs = splitList(v.inputColumns);
    const cats = splitList(v.categoricalColumns);
    const out = v.outputColumn.trim();
    if (inputs.length === 0) err('inputColumns', 'Name at least one input column');
    if (out === '') err('outputColumn', 'Label column is required');
    else if (inputs.includes(out)) err('outputColumn', `"${out}" is also an input column`);
    const notInput = cats.filter((c) => !inputs.includes(c));
    if (notInput.length > 0) err('categoricalColumns', `Not input columns: ${notInput.join(', ')}`);
    data.tabular = {
      input_columns: inputs,
      ...(cats.length > 0 ? { categorical_columns: cats } : {}),
      output_columns: out === '' ? [] : [out],
      standardize: v.standardize,
    };
    if (v.modelPreset !== 'custom') inputShape = [posInt('inputWidth', 'Input features')];
  } else {
    const t = posInt('sequenceLength', 'Sequence length');
    data.text = { sequence_length: t };
    inputShape = [t];
  }

  const epochs = posInt('epochs', 'Epochs');
  const roundDuration = posInt('roundDuration', 'Round duration');
  if (errors.every((e) => e.control !== 'epochs' && e.control !== 'roundDuration') && epochs % roundDuration !== 0)
    err('epochs', `Epochs must be a multiple of the round duration (${roundDuration})`);
  const batch = posInt('batchSize', 'Batch size');
  const split = num('validationSplit', 'Validation split', (n) => n >= 0 && n < 1, 'must be at least 0 and below 1');
  const seed = num('seed', 'Seed', (n) => Number.isInteger(n) && n >= 0, 'must be a whole number ≥ 0');
  const lr = num('learningRate', 'Learning rate', (n) => n > 0, 'must be above 0');
  const minP = posInt('minParticipants', 'Minimum participants');
  const timeout = num('roundTimeout', 'Round timeout', (n) => n >= 0, 'must be 0 or more seconds');

  let model: Record<string, unknown> | undefined;
  const optimizer = { type: v.optimizer, learning_rate: lr };
  if (v.modelPreset === 'custom') {
    if (v.modelSpecText.trim() === '') err('modelFile', 'Choose a model spec JSON file');
    else {
      try {
        const j = JSON.parse(v.modelSpecText) as unknown;
        if (!j || typeof j !== 'object' || Array.isArray(j)) err('modelFile', 'The model spec must be a JSON object');
        else {
          model = { ...(j as Record<string, unknown>) };
          if (model.optimizer === undefined) model.optimizer = optimizer;
        }
      } catch (e) {
        err('modelFile', `The model spec is not valid JSON: ${messageOf(e)}`);
      }
    }
  } else {
    const outputs = v.dataType === 'text' ? TEXT_VOCAB : labels.length;
    const regression = v.dataType === 'tabular' && labels.length === 0;
    const preset = v.modelPreset === 'auto' ? presetFor(v.dataType) : v.modelPreset;
    model = presetModel(preset, { inputShape, outputs, regression }, optimizer);
  }

  if (errors.length > 0) return { errors };
  const task: TaskJson = {
    id,
    title: v.title.trim() || id,
    summary: v.summary.trim(),
    description: v.description.trim(),
    data,
    model: model!,
    training: { epochs, batch_size: batch, validation_split: split, seed, round_duration: roundDuration },
    federation: {
      scheme: v.scheme,
      min_participants: minP,
      aggregation: v.aggregation,
      ...(timeout > 0 ? { round_timeout_s: timeout } : {}),
    },
  };
  return { task, errors };
}

const FIELD_CONTROLS: [string, Control][] = [
  ['id', 'id'],
  ['title', 'title'],
  ['summary', 'summary'],
  ['description', 'description'],
  ['data.type', 'dataType'],
  ['data.labels', 'labels'],
  ['data.image.height', 'imageHeight'],
  ['data.image.width', 'imageWidth'],
  ['data.image.channels', 'imageChannels'],
  ['data.image', 'imageHeight'],
  ['data.tabular.input_columns', 'inputColumns'],
  ['data.tabular.categorical_columns', 'categoricalColumns'],
  ['data.tabular.output_columns', 'outputColumn'],
  ['data.tabular.standardize', 'standardize'],
  ['data.tabular', 'inputColumns'],
  ['data.text.sequence_length', 'sequenceLength'],
  ['data.text', 'sequenceLength'],
  ['data', 'dataType'],
  ['model.optimizer.learning_rate', 'learningRate'],
  ['model.optimizer', 'optimizer'],
  ['training.epochs', 'epochs'],
  ['training.round_duration', 'roundDuration'],
  ['training.batch_size', 'batchSize'],
  ['training.validation_split', 'validationSplit'],
  ['training.seed', 'seed'],
  ['training', 'epochs'],
  ['federation.scheme', 'scheme'],
  ['federation.min_participants', 'minParticipants'],
  ['federation.aggregation', 'aggregation'],
  ['federation.round_timeout_s', 'roundTimeout'],
  ['federation', 'scheme'],
];

/** Whether a server error's field path is exactly one control's (else the control stands for a
 *  larger part, e.g. the model file for "model.layers[5].units", and the message keeps the path). */
export function fieldIsControl(field: string | undefined): boolean {
  return field !== undefined && FIELD_CONTROLS.some(([path]) => path === field);
}

/** The form control a server error's field path belongs to (longest matching prefix). */
export function fieldToControl(field: string | undefined, preset: ModelPreset, dataType: DataType = 'image'): Control | undefined {
  if (!field) return undefined;
  for (const [path, control] of FIELD_CONTROLS)
    if (field === path || field.startsWith(path + '.') || field.startsWith(path + '[')) return control;
  if (field === 'model' || field.startsWith('model.') || field.startsWith('model[')) {
    if (preset === 'custom') return 'modelFile';
    if (field === 'model.input_shape' && dataType === 'tabular') return 'inputWidth';
    return 'modelPreset';
  }
  return undefined;
}
