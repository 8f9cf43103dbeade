// SPDX-License-Identifier: Apache-2.0
// "Create a task" (`/create`): a form for the task document; POST /api/tasks. Client-side checks
// catch empty and non-numeric fields; the server's error is shown next to the field it names.
import { createTask } from '../../api/client';
import { ApiError, shortMessage } from '../../api/errors';
import { errorText, field, h, mount, uid } from '../dom';
import { navigate, taskPath } from '../router';
import { buildTask, DEFAULT_VALUES, fieldIsControl, fieldToControl, PRESET_NAMES, presetFor, type Control, type DataType, type FieldError, type ModelPreset, type TaskFormValues } from '../taskForm';

type Ctl = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

export function renderCreateTask(main: HTMLElement): () => void {
  document.title = 'Create a task · disco';
  const d = DEFAULT_VALUES;
  const controls = new Map<Control, { el: Ctl; setError(m: string | null): void; root: HTMLElement }>();
  const text = (key: Control, label: string, value: string, opts: { hint?: string; type?: string; required?: boolean; inputmode?: string; step?: string; min?: string; placeholder?: string } = {}) => {
    const el = h('input', { type: opts.type ?? 'text', value, required: !!opts.required, inputmode: opts.inputmode ?? null, step: opts.step ?? null, min: opts.min ?? null, placeholder: opts.placeholder ?? null, name: key });
    const f = field(label, el, opts.hint);
    controls.set(key, { el, setError: f.setError, root: f.root });
    return f.root;
  };
  const area = (key: Control, label: string, value: string, hint?: string, rows = 3) => {
    const el = h('textarea', { rows, name: key });
    el.value = value;
    const f = field(label, el, hint);
    controls.set(key, { el, setError: f.setError, root: f.root });
    return f.root;
  };
  const select = (key: Control, label: string, options: [string, string][], value: string, hint?: string) => {
    const el = h('select', { name: key }, options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
    const f = field(label, el, hint);
    controls.set(key, { el, setError: f.setError, root: f.root });
    return f.root;
  };
  const num = (key: Control, label: string, value: string, hint?: string, step = '1', min = '0') =>
    text(key, label, value, { hint, type: 'number', inputmode: step === '1' ? 'numeric' : 'decimal', step, min, required: true });

  // Standardize checkbox and model file input are special.
  const standardize = h('input', { type: 'checkbox', checked: d.standardize, id: uid('std') });
  const standardizeRoot = h('div', { class: 'field check' }, standardize, h('label', { for: standardize.id }, 'Standardize numeric columns'));
  const modelFile = h('input', { type: 'file', accept: '.json,application/json', name: 'modelFile' });
  const modelFileField = field('Model spec JSON file', modelFile, 'A disco model spec: {"input_shape": [...], "layers": [...], "loss": ..., "optimizer": ...}.');
  controls.set('modelFile', { el: modelFile, setError: modelFileField.setError, root: modelFileField.root });
  let modelSpecText = '';
  modelFile.addEventListener('change', async () => {
    modelSpecText = (await modelFile.files?.[0]?.text()) ?? '';
    modelFileField.setError(null);
  });

  const roundsOut = h('output', { class: 'hint' });

  const general = h(
    'fieldset',
    null,
    h('legend', null, 'General'),
    text('id', 'Task id', d.id, { hint: "Letters, digits, '-' and '_' (up to 64). Used in the task's address.", required: true, placeholder: 'my-task' }),
    text('title', 'Title', d.title, { placeholder: 'What participants see in the list' }),
    text('summary', 'Summary', d.summary, { hint: 'One line for the task list.' }),
    area('description', 'Description', d.description, 'Shown on the task page.', 4),
  );
  const imageGroup = h(
    'div',
    { class: 'grid3' },
    num('imageHeight', 'Image height', d.imageHeight, 'Pixels.', '1', '1'),
    num('imageWidth', 'Image width', d.imageWidth, 'Pixels.', '1', '1'),
    select('imageChannels', 'Channels', [['1', '1 (grayscale)'], ['3', '3 (RGB)']], d.imageChannels),
  );
  const tabularGroup = h(
    'div',
    null,
    area('inputColumns', 'Input columns', d.inputColumns, 'CSV column names, separated by commas or lines.'),
    area('categoricalColumns', 'Categorical columns', d.categoricalColumns, 'Those input columns that hold categories (one-hot encoded).', 2),
    text('outputColumn', 'Label column', d.outputColumn, { hint: 'The CSV column to predict.' }),
    standardizeRoot,
    num('inputWidth', 'Input features', d.inputWidth, 'Model input width: 1 per numeric column plus, per categorical column, its number of categories.', '1', '1'),
  );
  const textGroup = h('div', null, num('sequenceLength', 'Sequence length', d.sequenceLength, 'Bytes per sample.', '1', '1'));
  const labelsRoot = area('labels', 'Labels', d.labels, 'Class names, separated by commas or lines (image tasks: at least 2; empty for tabular regression).');
  const data = h(
    'fieldset',
    null,
    h('legend', null, 'Data'),
    select('dataType', 'Data type', [['image', 'Images'], ['tabular', 'Tabular (CSV)'], ['text', 'Text']], d.dataType),
    imageGroup,
    tabularGroup,
    textGroup,
    labelsRoot,
  );
  const presetRoot = select('modelPreset', 'Model preset', (Object.keys(PRESET_NAMES) as ModelPreset[]).map((k) => [k, PRESET_NAMES[k]]), d.modelPreset, 'Presets are sized to the data format and labels above.');
  const model = h(
    'fieldset',
    null,
    h('legend', null, 'Model'),
    presetRoot,
    modelFileField.root,
    h(
      'div',
      { class: 'grid2' },
      select('optimizer', 'Optimizer', [['adam', 'Adam'], ['adamw', 'AdamW'], ['sgd', 'SGD'], ['rmsprop', 'RMSprop']], d.optimizer),
      num('learningRate', 'Learning rate', d.learningRate, undefined, 'any', '0'),
    ),
  );
  const trainingFs = h(
    'fieldset',
    null,
    h('legend', null, 'Training'),
    h(
      'div',
      { class: 'grid2' },
      num('epochs', 'Epochs', d.epochs, 'Local passes over the data in total.', '1', '1'),
      num('roundDuration', 'Round duration', d.roundDuration, 'Epochs between two aggregations.', '1', '1'),
      num('batchSize', 'Batch size', d.batchSize, undefined, '1', '1'),
      num('validationSplit', 'Validation split', d.validationSplit, 'Fraction of the data held out, from 0 to below 1.', 'any', '0'),
      num('seed', 'Seed', d.seed, 'Initial model, splits and shuffles.', '1', '0'),
    ),
    roundsOut,
  );
  const federation = h(
    'fieldset',
    null,
    h('legend', null, 'Federation'),
    h(
      'div',
      { class: 'grid2' },
      select('scheme', 'Scheme', [['federated', 'Federated (server aggregates)'], ['decentralized', 'Decentralized (peer to peer)'], ['local', 'Local only']], d.scheme),
      num('minParticipants', 'Minimum participants', d.minParticipants, 'A round starts once this many joined.', '1', '1'),
      select('aggregation', 'Aggregation', [['sync', 'Synchronous rounds (FedAvg)'], ['async', 'Asynchronous (FedBuff)']], d.aggregation),
      num('roundTimeout', 'Round timeout (seconds)', d.roundTimeout, '0 = wait for everyone.', 'any', '0'),
    ),
    text('joinToken', 'Join token', d.joinToken, { hint: 'Optional: participants must enter it to join. Sent to the server, not stored in the task.' }),
  );
  const dpBox = h('input', { type: 'checkbox', disabled: true, id: uid('dp') });
  const privacy = h(
    'fieldset',
    { disabled: true, class: 'disabled' },
    h('legend', null, 'Privacy'),
    h('div', { class: 'field check' }, dpBox, h('label', { for: dpBox.id }, 'Differential privacy (clipping and noise)')),
    h('p', { class: 'hint' }, 'Not available yet: the task format has no privacy settings, so updates are sent unmodified.'),
  );

  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: -1, hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create task');
  const status = h('p', { class: 'note', role: 'status' });
  const form = h('form', { class: 'task-form', novalidate: true }, summary, general, data, model, trainingFs, federation, privacy, h('div', { class: 'actions' }, submit), status);

  const get = (k: Control) => controls.get(k)!.el;
  const values = (): TaskFormValues => {
    const out = { ...DEFAULT_VALUES };
    for (const k of Object.keys(DEFAULT_VALUES) as (keyof TaskFormValues)[]) {
      const c = controls.get(k);
      if (c && typeof out[k] === 'string') (out as Record<string, unknown>)[k] = c.el.value;
    }
    out.standardize = standardize.checked;
    out.modelSpecText = modelSpecText;
    return out;
  };

  const sync = () => {
    const type = get('dataType').value as DataType;
    imageGroup.hidden = type !== 'image';
    tabularGroup.hidden = type !== 'tabular';
    textGroup.hidden = type !== 'text';
    labelsRoot.hidden = type === 'text';
    const custom = get('modelPreset').value === 'custom';
    modelFileField.root.hidden = !custom;
    controls.get('inputWidth')!.root.hidden = custom;
    const e = Number(get('epochs').value);
    const r = Number(get('roundDuration').value);
    roundsOut.textContent = e > 0 && r > 0 && Number.isInteger(e / r) ? `${e / r} round${e / r === 1 ? '' : 's'} of aggregation.` : '';
    const sch = get('scheme').value;
    for (const k of ['minParticipants', 'aggregation', 'roundTimeout', 'joinToken'] as Control[]) (controls.get(k)!.el as HTMLInputElement).disabled = sch === 'local';
  };
  get('dataType').addEventListener('change', () => {
    const preset = get('modelPreset') as HTMLSelectElement;
    if (preset.value !== 'custom' && preset.value !== 'auto') preset.value = presetFor(get('dataType').value as DataType);
    sync();
  });
  for (const k of ['modelPreset', 'epochs', 'roundDuration', 'scheme'] as Control[]) get(k).addEventListener('input', sync);
  get('modelPreset').addEventListener('change', sync);
  get('scheme').addEventListener('change', sync);
  sync();

  const labelOf = (c: Control) => controls.get(c)?.root.querySelector('label')?.textContent ?? String(c);
  const showErrors = (errors: FieldError[]) => {
    for (const c of controls.values()) c.setError(null);
    if (errors.length === 0) {
      summary.hidden = true;
      return;
    }
    const seen = new Set<Control>();
    for (const e of errors)
      if (e.control && controls.has(e.control) && !seen.has(e.control)) {
        seen.add(e.control);
        controls.get(e.control)!.setError(e.message);
      }
    mount(
      summary,
      h('h2', null, errors.length === 1 ? 'There is a problem' : `There are ${errors.length} problems`),
      h(
        'ul',
        null,
        errors.map((e) => {
          const c = e.control && controls.get(e.control);
          if (!c) return h('li', null, e.message);
          const id = c.el.id;
          return h('li', null, h('a', { href: `#${id}`, onclick: (ev: Event) => (ev.preventDefault(), c.el.focus()) }, e.message.startsWith(labelOf(e.control!)) ? e.message : `${labelOf(e.control!)}: ${e.message}`));
        }),
      ),
    );
    summary.hidden = false;
    summary.focus();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    const v = values();
    const { task, errors } = buildTask(v);
    showErrors(errors);
    if (!task) return;
    submit.disabled = true;
    status.textContent = 'Creating the task…';
    try {
      const created = await createTask(task, v.joinToken.trim() || undefined);
      status.textContent = 'Task created.';
      navigate(taskPath(created.id ?? task.id));
    } catch (err) {
      status.textContent = '';
      if (err instanceof ApiError) {
        if (err.status === 409) showErrors([{ control: 'id', message: `A task with the id "${task.id}" already exists` }]);
        else {
          const control = fieldToControl(err.field, v.modelPreset, v.dataType);
          // At its own control the message drops the field path; at a control standing for a larger
          // part (the model file for "model.layers[5].units") it keeps it.
          const text = !control ? err.message : fieldIsControl(err.field) ? shortMessage(err.message, err.field) : err.message.replace(/^request body: /, '');
          showErrors([{ control, message: text }]);
        }
      } else showErrors([{ control: undefined, message: errorText(err) }]);
    } finally {
      submit.disabled = false;
    }
  });

  mount(
    main,
    h(
      'header',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Create a task'),
      h('p', { class: 'lead' }, 'Describe the data, pick a model and the training settings; participants then join from the task page.'),
    ),
    form,
  );
  main.querySelector('h1')?.focus();
  return () => {};
}

