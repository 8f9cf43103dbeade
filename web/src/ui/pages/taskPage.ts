// SPDX-License-Identifier: Apache-2.0
// The task page: what the task is, then the participant's flow: connect data, train (locally or
// with the federation), test, predict. The engine (a Web Worker) does the work; this page only
// hands it files and draws what it reports.
import { getGlobalModel, getTask, getTaskStatus, socketUrl, type RoundStatus } from '../../api/client';
import type { DataSource, Engine, EngineEvent, PredictResult, TaskJson, TestResult, TrainMode } from '../../engine/protocol';
import { library, type ModelMetrics } from '../../library/store';
import { dataPanel, PREDICT_NAMES, TRAIN_NAMES } from '../components/dataPanel';
import { lineChart, type Series } from '../components/lineChart';
import { download, errorText, field, h, mount, uid, type Child } from '../dom';
import { startEngine } from '../engineLoader';
import { fileStamp, formatDate, formatNumber, formatPercent, formatRound, formatStatus } from '../format';
import { predictCsv, testCsv } from '../results';
import { folderName, imageText, layerDetails, privacyText, schemeName, viewTask, type TaskView } from '../taskInfo';

const MAX_ROWS = 200;

function section(id: string, step: string | null, title: string, ...children: Child[]): HTMLElement {
  const hid = uid(id);
  return h(
    'section',
    { class: 'card step', 'aria-labelledby': hid, id },
    h('h2', { id: hid }, step && h('span', { class: 'step-no', 'aria-hidden': 'true' }, step), title),
    ...children,
  );
}

function dl(rows: [string, Child][]): HTMLElement {
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
}

function exampleData(v: TaskView): HTMLElement {
  if (v.dataType === 'image') {
    const ls = v.labels.slice(0, 3);
    const tree = ['my-images/', ...ls.map((l, i) => `  ${folderName(l)}/\n    img${i * 2 + 1}.png\n    img${i * 2 + 2}.png`), v.labels.length > 3 ? '  …' : ''].filter(Boolean).join('\n');
    const csv = ['filename,label', ...ls.map((l, i) => `img${i + 1}.png,${/[",]/.test(l) ? `"${l.replace(/"/g, '""')}"` : l}`)].join('\n');
    return h(
      'div',
      { class: 'examples' },
      h('div', null, h('h4', null, 'One folder per label'), h('pre', null, tree)),
      h('div', null, h('h4', null, 'Or image files and a labels CSV'), h('pre', null, csv)),
      h('p', { class: 'hint' }, `Images of any size are resized to ${imageText(v.image!)}. Folder names may use the label's index (0–${v.labels.length - 1}) or "_" for "/".`),
    );
  }
  if (v.dataType === 'tabular' && v.tabular) {
    const cols = [...v.tabular.inputs, ...v.tabular.outputs];
    return h(
      'div',
      { class: 'examples' },
      h('p', null, 'A CSV file with a header row naming at least these columns (in any order; other columns are ignored):'),
      h('pre', null, cols.join(',') + '\n' + cols.map(() => '…').join(',')),
      h('p', { class: 'hint' }, `Missing values ("", NA, ?) are ${v.tabular.missing === 'reject' ? 'refused' : 'filled in'}. For predictions the label column${v.tabular.outputs.length > 1 ? 's are' : ' is'} not needed.`),
    );
  }
  if (v.dataType === 'text')
    return h(
      'div',
      { class: 'examples' },
      h('p', null, `Plain text files (UTF-8). Each non-empty line is one sample, cut to ${v.sequenceLength} bytes.`),
      h('pre', null, 'The first sentence of my text.\nAnother line is another sample.'),
    );
  return h('p', null, 'Unknown data type.');
}

function describeTask(v: TaskView): HTMLElement {
  const dataRows: [string, Child][] = [['Type', v.dataType]];
  if (v.image) dataRows.push(['Images', imageText(v.image)]);
  if (v.tabular) {
    dataRows.push(['Input columns', v.tabular.inputs.join(', ')]);
    if (v.tabular.categorical.length) dataRows.push(['Categorical columns', v.tabular.categorical.join(', ')]);
    dataRows.push(['Label column', v.tabular.outputs.join(', ')]);
  }
  if (v.sequenceLength !== null) dataRows.push(['Sequence length', `${v.sequenceLength} bytes`]);
  if (v.labels.length) dataRows.push(['Labels', h('ul', { class: 'chips' }, v.labels.map((l) => h('li', null, l)))]);

  const opt = v.model.optimizer;
  const optText = `${String(opt.type)}${opt.learning_rate !== undefined ? `, learning rate ${String(opt.learning_rate)}` : ''}`;
  const layers = h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'layers' },
      h('caption', null, `Layers (input ${v.model.inputShape.join('×') || '?'})`),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Layer'), h('th', { scope: 'col' }, 'Settings'))),
      h('tbody', null, v.model.layers.map((l, i) => h('tr', null, h('td', null, i + 1), h('td', null, String(l.type ?? '?')), h('td', null, layerDetails(l))))),
    ),
  );
  const fedRows: [string, Child][] = [
    ['Scheme', schemeName(v.federation.scheme)],
    ['Minimum participants', String(v.federation.minParticipants)],
    ['Rounds', `${v.training.rounds} (${v.training.roundDuration} epoch${v.training.roundDuration === 1 ? '' : 's'} per round)`],
    ['Aggregation', v.federation.aggregation === 'async' ? 'Asynchronous (FedBuff)' : 'Synchronous rounds (FedAvg)'],
  ];
  if (v.federation.fraction !== 1) fedRows.push(['Fraction per round', String(v.federation.fraction)]);
  if (v.federation.roundTimeout > 0) fedRows.push(['Round timeout', `${v.federation.roundTimeout} s`]);
  for (const [k, x] of Object.entries(v.federation.extra)) fedRows.push([k, JSON.stringify(x)]);

  return section(
    'about',
    null,
    'About this task',
    v.description && h('p', { class: 'description' }, v.description),
    h(
      'div',
      { class: 'about-grid' },
      h('div', null, h('h3', null, 'Data format'), dl(dataRows)),
      h('div', null, h('h3', null, 'Example of the expected data'), exampleData(v)),
      h('div', null, h('h3', null, 'Model'), layers, dl([['Loss', v.model.loss], ['Optimizer', optText], ['Metrics', v.model.metrics.join(', ') || '–']])),
      h(
        'div',
        null,
        h('h3', null, 'Training'),
        dl([
          ['Epochs', String(v.training.epochs)],
          ['Batch size', String(v.training.batchSize)],
          ['Validation split', String(v.training.validationSplit)],
          ['Seed', String(v.training.seed)],
        ]),
      ),
      h('div', null, h('h3', null, 'Federation'), dl(fedRows)),
      h('div', null, h('h3', null, 'Privacy'), h('p', null, privacyText(v)), h('p', { class: 'hint' }, 'Your data never leaves this device: only model updates are sent.')),
    ),
  );
}

function confusionTable(r: TestResult): HTMLElement {
  return h(
    'div',
    { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Confusion matrix' },
    h(
      'table',
      { class: 'confusion' },
      h('caption', null, 'Confusion matrix'),
      h(
        'thead',
        null,
        h('tr', null, h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'True label'), h('span', { 'aria-hidden': 'true' }, 'true ↓ / predicted →')), r.labels.map((l) => h('th', { scope: 'col' }, l))),
      ),
      h(
        'tbody',
        null,
        r.labels.map((l, i) =>
          h('tr', null, h('th', { scope: 'row' }, l), (r.confusion[i] ?? []).map((n, j) => h('td', { class: n > 0 ? (i === j ? 'hit' : 'miss') : null }, n))),
        ),
      ),
    ),
  );
}

function samplesTable(caption: string, samples: { name: string; label: string | null; predicted: string; confidence: number }[], withTruth: boolean): HTMLElement {
  const shown = samples.slice(0, MAX_ROWS);
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'table-scroll tall', tabindex: 0, role: 'region', 'aria-label': caption },
      h(
        'table',
        { class: 'samples' },
        h('caption', null, caption),
        h(
          'thead',
          null,
          h('tr', null, h('th', { scope: 'col' }, 'Sample'), withTruth && h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'Predicted'), h('th', { scope: 'col' }, 'Confidence'), withTruth && h('th', { scope: 'col' }, 'Correct')),
        ),
        h(
          'tbody',
          null,
          shown.map((s) => {
            const ok = s.label === s.predicted;
            return h(
              'tr',
              null,
              h('td', { class: 'name' }, s.name),
              withTruth && h('td', null, s.label ?? '–'),
              h('td', null, s.predicted),
              h('td', null, formatPercent(s.confidence)),
              withTruth && h('td', { class: ok ? 'ok' : 'bad' }, ok ? '✓ yes' : '✗ no'),
            );
          }),
        ),
      ),
    ),
    samples.length > MAX_ROWS && h('p', { class: 'hint' }, `Showing the first ${MAX_ROWS} of ${samples.length} samples; the CSV export has all of them.`),
  );
}

export function renderTaskPage(main: HTMLElement, id: string): () => void {
  let disposed = false;
  let engine: Engine | null = null;
  let trainingNow = false;
  const cleanups: (() => void)[] = [];
  mount(main, h('p', { class: 'loading', role: 'status' }, 'Loading the task…'));

  getTask(id).then(
    (task) => {
      if (!disposed) build(task);
    },
    (e) => {
      if (disposed) return;
      document.title = 'Task not found · disco';
      mount(main, h('h1', { tabindex: -1 }, 'Task not found'), h('p', { class: 'error-box', role: 'alert' }, errorText(e)), h('p', null, 'See the task list in the menu above.'));
    },
  );

  function build(task: TaskJson) {
    const v = viewTask(task);
    document.title = `${v.title} · disco`;
    const lib = library();

    // ---- engine ----
    const engineLine = h('p', { class: 'engine-line' }, 'Starting the training engine…');
    const engineReady: Promise<Engine> = (async () => {
      const e = await startEngine();
      if (disposed) {
        e.terminate();
        throw new Error('page closed');
      }
      engine = e;
      cleanups.push(e.onEvent(onEvent));
      const ready = await e.init();
      await e.loadTask(task);
      engineLine.textContent = `Training engine ready (${ready.threads} thread${ready.threads === 1 ? '' : 's'}${ready.crossOriginIsolated ? '' : '; the page is not cross-origin isolated'}).`;
      return e;
    })();
    engineReady.catch((err) => {
      if (disposed) return;
      engineLine.textContent = `The training engine could not start: ${errorText(err)}`;
      engineLine.classList.add('error-box');
    });
    const withEngine = async <T>(f: (e: Engine) => Promise<T>): Promise<T> => f(await engineReady);

    // ---- 1. connect data ----
    let trainConnected = false;
    let rebuildTrain: (() => Promise<DataSource>) | null = null;
    let testFrom: 'own' | 'train' | null = null;
    const trainPanel = dataPanel({
      task,
      role: 'train',
      names: TRAIN_NAMES,
      connect: (source) => withEngine((e) => e.connectData('train', source)),
      onConnected: (_s, rebuild) => {
        trainConnected = true;
        rebuildTrain = rebuild;
        if (testFrom === 'train') testFrom = null;
        startBtn.disabled = training;
        trainHint.hidden = true;
      },
    });
    const connectSection = section(
      'connect',
      '1',
      'Connect data',
      h('p', null, 'Choose your labelled data for training. It stays on this device: it is read here and never uploaded.'),
      trainPanel.root,
    );

    // ---- 2. train ----
    const federatedTask = v.federation.scheme === 'federated';
    const modeName = uid('mode');
    const radio = (value: string, label: string, checked: boolean, disabled: boolean) => {
      const input = h('input', { type: 'radio', name: modeName, value, id: uid('r'), checked, disabled });
      return { input, root: h('div', { class: 'radio' }, input, h('label', { for: input.id }, label)) };
    };
    const localRadio = radio('local', 'Local', !federatedTask, false);
    const fedRadio = radio('federated', 'Federated', federatedTask, !federatedTask);
    const modeNote =
      v.federation.scheme === 'decentralized'
        ? 'Decentralized (peer-to-peer) training is not available in the browser yet; train locally.'
        : v.federation.scheme === 'local'
          ? 'This task trains locally only.'
          : `With the federation: ${v.federation.minParticipants} participant${v.federation.minParticipants === 1 ? '' : 's'} needed, ${v.training.rounds} round${v.training.rounds === 1 ? '' : 's'}.`;
    const tokenInput = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
    const nameInput = h('input', { type: 'text', autocomplete: 'off', maxlength: 64 });
    const tokenField = field('Join token', tokenInput, 'Only if the task owner gave you one.');
    const nameField = field('Client name', nameInput, 'Optional: how the server lists you.');
    const fedFields = h('div', { class: 'fed-fields' }, tokenField.root, nameField.root);
    const syncMode = () => (fedFields.hidden = !fedRadio.input.checked);
    localRadio.input.addEventListener('change', syncMode);
    fedRadio.input.addEventListener('change', syncMode);
    syncMode();

    const startBtn = h('button', { type: 'button', class: 'primary', disabled: true }, 'Start training');
    const stopBtn = h('button', { type: 'button', disabled: true }, 'Stop');
    const trainHint = h('p', { class: 'hint' }, 'Connect data first.');
    const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Not started');
    const roundEl = h('span', null, formatRound(undefined, v.training.rounds));
    const partEl = h('span', null, 'Participants –');
    const epochEl = h('span', null, `Epoch – / ${v.training.epochs}`);
    const progress = h('progress', { max: 1, value: 0, 'aria-label': 'Epoch progress' });
    const stats = h('div', { class: 'stats', role: 'status' }, roundEl, partEl, epochEl, progress);
    const lossChart = lineChart('Loss per epoch', 'Epoch');
    const accChart = lineChart('Accuracy per epoch', 'Epoch', [0, 1]);
    const roundLossChart = lineChart('Loss per round', 'Round');
    const roundAccChart = lineChart('Accuracy per round', 'Round', [0, 1]);
    const roundCharts = h('div', { class: 'charts', hidden: true }, roundLossChart.root, roundAccChart.root);
    const epochCharts = h('div', { class: 'charts', hidden: true }, lossChart.root, accChart.root);
    const logList = h('ol', { class: 'log' });
    const saveBtn = h('button', { type: 'button' }, 'Save to library');
    const saveMsg = h('p', { class: 'note', role: 'status' });
    const saveRow = h('div', { class: 'actions', hidden: true }, saveBtn, saveMsg);

    // Start from a saved or the server's model.
    const libSelect = h('select', null);
    const libField = field('Saved model', libSelect);
    const loadBtn = h('button', { type: 'button' }, 'Load from library');
    const globalBtn = h('button', { type: 'button' }, 'Download global model');
    const modelMsg = h('p', { class: 'note', role: 'status' });
    // A model file from disk (e.g. downloaded from another browser or written by `disco train`):
    // the engine checks it against the task's model; it can then be saved to the library.
    const fileInput = h('input', { type: 'file', accept: '.safetensors' });
    const fileField = field('Model file (.safetensors)', fileInput);
    const refreshLibrary = async () => {
      const models = await lib.list(task.id).catch(() => []);
      mount(
        libSelect,
        models.length === 0 ? h('option', { value: '' }, 'No saved model for this task') : models.map((m) => h('option', { value: String(m.id) }, `${m.name} (${formatDate(m.savedAt)})`)),
      );
      libSelect.disabled = models.length === 0;
      loadBtn.disabled = models.length === 0;
    };
    void refreshLibrary();
    loadBtn.addEventListener('click', async () => {
      const mid = Number(libSelect.value);
      if (!mid) return;
      loadBtn.disabled = true;
      try {
        const meta = await lib.get(mid);
        const bytes = await lib.bytes(mid);
        await withEngine((e) => e.loadModel(bytes));
        modelMsg.textContent = `Loaded “${meta?.name ?? mid}”: training, testing and predicting now start from it.`;
        enableTesting();
      } catch (e) {
        modelMsg.textContent = `Could not load the model: ${errorText(e)}`;
      } finally {
        loadBtn.disabled = false;
      }
    });
    fileInput.addEventListener('change', async () => {
      const file = fileInput.files?.[0];
      if (!file) return;
      modelMsg.textContent = `Loading ${file.name}…`;
      try {
        await withEngine(async (e) => e.loadModel(await file.arrayBuffer()));
        modelMsg.textContent = `Loaded ${file.name}: training, testing and predicting now start from it. “Save to library” keeps it in this browser.`;
        saveRow.hidden = false;
        enableTesting();
      } catch (e) {
        modelMsg.textContent = `Could not load ${file.name}: ${errorText(e)}`;
      } finally {
        fileInput.value = '';
      }
    });
    globalBtn.addEventListener('click', async () => {
      globalBtn.disabled = true;
      modelMsg.textContent = 'Downloading the global model…';
      try {
        const { bytes, round } = await getGlobalModel(task.id);
        const name = `Global model${round !== null ? ` (round ${round})` : ''}`;
        await lib.add({ taskId: task.id, taskTitle: v.title, name, savedAt: Date.now(), source: 'server', metrics: round !== null ? { rounds: round } : {} }, bytes);
        await refreshLibrary();
        modelMsg.textContent = `Saved “${name}” to the library. Choose it above and press “Load from library” to use it.`;
      } catch (e) {
        modelMsg.textContent = `Could not download the global model: ${errorText(e)}`;
      } finally {
        globalBtn.disabled = false;
      }
    });

    // Training state and charts.
    let training = false;
    let epochIndex = 0;
    let lastStatus = '';
    const epochs: { x: number; loss: number; acc: number; vl: number; va: number }[] = [];
    // Per-round training metrics of all contributors, from the server's task status.
    let serverRounds: RoundStatus[] = [];
    let firstRound = 1;
    let poll: ReturnType<typeof setInterval> | null = null;
    const pollStatus = async () => {
      try {
        const st = await getTaskStatus(task.id);
        if (disposed) return;
        serverRounds = st.rounds ?? [];
        redraw();
      } catch {
        /* the chart just misses the server's line */
      }
    };
    cleanups.push(() => poll !== null && clearInterval(poll));
    const rounds: { x: number; vl: number; va: number }[] = [];
    const n = (x: number | null) => (x === null ? NaN : x);
    const redraw = () => {
      const ser = (name: string, cls: string, pts: { x: number; y: number }[]): Series => ({ name, className: cls, points: pts });
      lossChart.update([ser('Training', 'series-1', epochs.map((p) => ({ x: p.x, y: p.loss }))), ser('Validation', 'series-2', epochs.map((p) => ({ x: p.x, y: p.vl })))]);
      accChart.update([ser('Training', 'series-1', epochs.map((p) => ({ x: p.x, y: p.acc }))), ser('Validation', 'series-2', epochs.map((p) => ({ x: p.x, y: p.va })))]);
      const server = serverRounds.filter((r) => r.round >= firstRound);
      roundLossChart.update([
        ser('Training, all participants', 'series-1', server.map((r) => ({ x: r.round, y: r.loss ?? NaN }))),
        ser('Validation, this device', 'series-3', rounds.map((p) => ({ x: p.x, y: p.vl }))),
      ]);
      roundAccChart.update([
        ser('Training, all participants', 'series-1', server.map((r) => ({ x: r.round, y: r.accuracy ?? NaN }))),
        ser('Validation, this device', 'series-3', rounds.map((p) => ({ x: p.x, y: p.va }))),
      ]);
      epochCharts.hidden = epochs.length === 0;
    };
    redraw();
    const log = (text: string) => {
      logList.append(h('li', null, `${new Date().toLocaleTimeString()} ${text}`));
      while (logList.childElementCount > 200) logList.firstElementChild?.remove();
    };
    const setStatus = (text: string) => {
      if (text !== lastStatus) log(text);
      lastStatus = text;
      status.textContent = text;
    };

    function onEvent(e: EngineEvent) {
      if (disposed) return;
      switch (e.type) {
        case 'status':
          setStatus(formatStatus(e));
          if (e.round) roundEl.textContent = formatRound(e.round, e.nRounds ?? v.training.rounds);
          if (e.participants) partEl.textContent = `Participants ${e.participants}${e.minParticipants !== undefined ? ` (need ${e.minParticipants})` : ''}`;
          break;
        case 'progress':
          progress.max = e.nBatches;
          progress.value = e.batch;
          epochEl.textContent = `Epoch ${e.round > 0 ? (e.round - 1) * v.training.roundDuration + e.epoch : e.epoch} / ${v.training.epochs}`;
          break;
        case 'epoch':
          epochIndex++;
          progress.value = progress.max;
          epochs.push({ x: epochIndex, loss: e.loss, acc: e.accuracy, vl: n(e.valLoss), va: n(e.valAccuracy) });
          epochEl.textContent = `Epoch ${epochIndex} / ${v.training.epochs}`;
          redraw();
          break;
        case 'round':
          rounds.push({ x: e.round, vl: n(e.valLoss), va: n(e.valAccuracy) });
          epochEl.textContent = `Epoch ${Math.min(e.round * v.training.roundDuration, v.training.epochs)} / ${v.training.epochs}`;
          progress.value = progress.max;
          roundEl.textContent = formatRound(e.round, v.training.rounds);
          partEl.textContent = `Participants ${e.participants}`;
          redraw();
          break;
        case 'log':
          log(e.message);
          break;
      }
    }

    startBtn.addEventListener('click', async () => {
      if (!trainConnected || training) return;
      const fed = fedRadio.input.checked;
      const mode: TrainMode = fed
        ? { kind: 'federated', url: socketUrl(task.id), ...(nameInput.value.trim() ? { clientId: nameInput.value.trim() } : {}), ...(tokenInput.value ? { joinToken: tokenInput.value } : {}) }
        : { kind: 'local' };
      training = true;
      trainingNow = true;
      startBtn.disabled = true;
      stopBtn.disabled = false;
      saveRow.hidden = true;
      saveMsg.textContent = '';
      epochs.length = 0;
      rounds.length = 0;
      epochIndex = 0;
      roundCharts.hidden = !fed;
      serverRounds = [];
      if (fed) {
        firstRound = 1;
        void getTaskStatus(task.id).then((st) => (firstRound = (st.rounds_completed ?? 0) + 1), () => {});
        poll = setInterval(() => void pollStatus(), 2000);
      }
      roundEl.hidden = !fed;
      partEl.hidden = !fed;
      roundEl.textContent = formatRound(undefined, v.training.rounds);
      partEl.textContent = 'Participants –';
      epochEl.textContent = `Epoch – / ${v.training.epochs}`;
      progress.value = 0;
      redraw();
      setStatus(fed ? 'Connecting to the server…' : 'Training locally…');
      try {
        const r = await withEngine((e) => e.train(mode));
        setStatus(r.stopped ? 'Training stopped' : `Training finished${r.rounds > 0 ? ` after ${r.rounds} round${r.rounds === 1 ? '' : 's'}` : ''}`);
        saveRow.hidden = false;
        enableTesting();
      } catch (e) {
        setStatus(`Training failed: ${errorText(e)}`);
      } finally {
        if (poll !== null) {
          clearInterval(poll);
          poll = null;
          if (fed) void pollStatus();
        }
        training = false;
        trainingNow = false;
        startBtn.disabled = !trainConnected;
        stopBtn.disabled = true;
      }
    });
    stopBtn.addEventListener('click', () => {
      stopBtn.disabled = true;
      setStatus('Stopping…');
      void engine?.stop();
    });
    saveBtn.addEventListener('click', async () => {
      saveBtn.disabled = true;
      try {
        const bytes = await withEngine((e) => e.exportModel());
        const last = epochs.at(-1);
        const lastRound = rounds.at(-1);
        const metrics: ModelMetrics = {
          loss: last?.loss ?? null,
          accuracy: last?.acc ?? null,
          valLoss: lastRound ? (Number.isFinite(lastRound.vl) ? lastRound.vl : null) : last && Number.isFinite(last.vl) ? last.vl : null,
          valAccuracy: lastRound ? (Number.isFinite(lastRound.va) ? lastRound.va : null) : last && Number.isFinite(last.va) ? last.va : null,
          epochs: epochs.length,
          rounds: rounds.length,
        };
        const name = `${v.title} ${formatDate(Date.now())}`;
        await lib.add({ taskId: task.id, taskTitle: v.title, name, savedAt: Date.now(), source: 'trained', metrics }, bytes);
        saveMsg.replaceChildren(`Saved “${name}” to the `, h('a', { href: '/models' }, 'model library'), '.');
        await refreshLibrary();
      } catch (e) {
        saveMsg.textContent = `Could not save the model: ${errorText(e)}`;
      } finally {
        saveBtn.disabled = false;
      }
    });

    const trainSection = section(
      'train',
      '2',
      'Train',
      h(
        'details',
        { class: 'start-from' },
        h('summary', null, 'Start from a saved, a file or the global model (optional)'),
        h('div', { class: 'row' }, libField.root, h('div', { class: 'actions' }, loadBtn)),
        fileField.root,
        h('div', { class: 'actions' }, globalBtn),
        modelMsg,
      ),
      h(
        'fieldset',
        { class: 'modes' },
        h('legend', null, 'Training mode'),
        h('div', { class: 'radios' }, localRadio.root, fedRadio.root),
        h('p', { class: 'hint' }, modeNote),
      ),
      fedFields,
      h('div', { class: 'actions' }, startBtn, stopBtn),
      trainHint,
      status,
      stats,
      epochCharts,
      roundCharts,
      saveRow,
      h('details', { class: 'log-box' }, h('summary', null, 'Training log'), logList),
    );

    // ---- 3. test ----
    const testBtn = h('button', { type: 'button', class: 'primary' }, 'Test model');
    const testStatus = h('p', { class: 'note', role: 'status' });
    const testOut = h('div', { class: 'results' });
    let testResult: TestResult | null = null;
    const testPanelSlot = h('div', null, h('p', { class: 'hint' }, 'Train a model above, or load one from the library, to test it here.'));
    let testPanelShown = false;
    // The test data inputs appear once there is a model to test (and carry the same names as the
    // training inputs, inside this section).
    const enableTesting = () => {
      if (testPanelShown || disposed) return;
      testPanelShown = true;
      const p = dataPanel({
        task,
        role: 'test',
        names: TRAIN_NAMES,
        connect: (source) => withEngine((e) => e.connectData('test', source)),
        onConnected: () => (testFrom = 'own'),
      });
      mount(testPanelSlot, h('p', null, 'Connect labelled test data, or test on the data connected above.'), p.root);
    };
    testBtn.addEventListener('click', async () => {
      testBtn.disabled = true;
      mount(testOut);
      try {
        if (testFrom === null) {
          if (!rebuildTrain) throw new Error('Connect test data, or connect training data above.');
          testStatus.textContent = 'No separate test data: testing on the training data…';
          const rebuild: () => Promise<DataSource> = rebuildTrain;
          await withEngine(async (e) => e.connectData('test', await rebuild()));
          testFrom = 'train';
        }
        testStatus.textContent = 'Testing…';
        const r = await withEngine((e) => e.test());
        testResult = r;
        testStatus.textContent = `Tested ${r.samples.length} samples${testFrom === 'train' ? ' (the training data)' : ''}.`;
        const exportBtn = h('button', { type: 'button' }, 'Export CSV');
        exportBtn.addEventListener('click', () => testResult && download(`test-${task.id}-${fileStamp(Date.now())}.csv`, testCsv(testResult), 'text/csv'));
        mount(
          testOut,
          h('p', { class: 'big-metric' }, `Accuracy ${formatPercent(r.accuracy)}`, h('span', { class: 'sub' }, ` · loss ${formatNumber(r.loss)}`)),
          r.labels.length > 0 && confusionTable(r),
          samplesTable('Results per sample', r.samples, true),
          h('div', { class: 'actions' }, exportBtn),
        );
      } catch (e) {
        testStatus.textContent = `Testing failed: ${errorText(e)}`;
      } finally {
        testBtn.disabled = false;
      }
    });
    const testSection = section(
      'test',
      '3',
      'Test',
      h('p', null, 'Measure the model on labelled data.'),
      testPanelSlot,
      h('div', { class: 'actions' }, testBtn),
      testStatus,
      testOut,
    );

    // ---- 4. predict ----
    const predictBtn = h('button', { type: 'button', class: 'primary', disabled: true }, 'Predict');
    const predictStatus = h('p', { class: 'note', role: 'status' });
    const predictOut = h('div', { class: 'results' });
    let predictResult: PredictResult | null = null;
    const predictPanel = dataPanel({
      task,
      role: 'predict',
      names: PREDICT_NAMES,
      connect: (source) => withEngine((e) => e.connectData('predict', source)),
      onConnected: () => (predictBtn.disabled = false),
    });
    predictBtn.addEventListener('click', async () => {
      predictBtn.disabled = true;
      predictStatus.textContent = 'Predicting…';
      mount(predictOut);
      try {
        const r = await withEngine((e) => e.predict());
        predictResult = r;
        predictStatus.textContent = `Predicted ${r.samples.length} samples.`;
        const exportBtn = h('button', { type: 'button' }, 'Export CSV');
        exportBtn.addEventListener('click', () => predictResult && download(`predictions-${task.id}-${fileStamp(Date.now())}.csv`, predictCsv(predictResult), 'text/csv'));
        mount(predictOut, samplesTable('Predictions', r.samples, false), h('div', { class: 'actions' }, exportBtn));
      } catch (e) {
        predictStatus.textContent = `Prediction failed: ${errorText(e)}`;
      } finally {
        predictBtn.disabled = false;
      }
    });
    const predictSection = section(
      'predict',
      '4',
      'Predict',
      h('p', null, v.dataType === 'tabular' ? 'Label new rows: a CSV with the input columns.' : 'Label new, unlabelled data.'),
      predictPanel.root,
      h('div', { class: 'actions' }, predictBtn),
      predictStatus,
      predictOut,
    );

    mount(
      main,
      h(
        'header',
        { class: 'page-head' },
        h('p', { class: 'crumbs' }, `Task ${v.id}`),
        h('h1', { tabindex: -1 }, v.title),
        v.summary && h('p', { class: 'lead' }, v.summary),
        h('ul', { class: 'badges' }, h('li', { class: `badge ${v.federation.scheme}` }, schemeName(v.federation.scheme)), h('li', { class: 'badge' }, v.dataType)),
        engineLine,
      ),
      describeTask(v),
      connectSection,
      trainSection,
      testSection,
      predictSection,
    );
    main.querySelector('h1')?.focus();
  }

  const beforeUnload = (e: BeforeUnloadEvent) => {
    if (trainingNow) e.preventDefault();
  };
  window.addEventListener('beforeunload', beforeUnload);

  return () => {
    disposed = true;
    window.removeEventListener('beforeunload', beforeUnload);
    cleanups.forEach((c) => c());
    engine?.terminate();
  };
}
