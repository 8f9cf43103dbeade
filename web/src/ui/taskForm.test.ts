import { describe, expect, it } from 'vitest';
import { DEFAULT_VALUES, buildTask, fieldIsControl, fieldToControl, splitList, type TaskFormValues } from './taskForm';

const image: TaskFormValues = {
  ...DEFAULT_VALUES,
  id: 'my-mnist',
  title: 'My MNIST',
  labels: '0, 1\n2',
};

describe('buildTask', () => {
  it('splits label lists on commas and lines', () => {
    expect(splitList(' a, b\n\nc ,')).toEqual(['a', 'b', 'c']);
  });
  it('builds an image task with the MNIST CNN sized to the form', () => {
    const { task, errors } = buildTask({ ...image, imageHeight: '32', imageWidth: '32', imageChannels: '3' });
    expect(errors).toEqual([]);
    expect(task!.data).toEqual({ type: 'image', labels: ['0', '1', '2'], image: { height: 32, width: 32, channels: 3 } });
    const model = task!.model as { input_shape: number[]; layers: { units?: number; activation?: string }[] };
    expect(model.input_shape).toEqual([32, 32, 3]);
    expect(model.layers[model.layers.length - 1]).toEqual({ type: 'dense', units: 3, activation: 'softmax' });
    expect(task!.training).toEqual({ epochs: 5, batch_size: 32, validation_split: 0.1, seed: 1, round_duration: 1 });
    expect(task!.federation).toEqual({ scheme: 'federated', min_participants: 2, aggregation: 'sync' });
  });
  it('builds a tabular task like penguins', () => {
    const { task, errors } = buildTask({
      ...DEFAULT_VALUES,
      id: 'peng',
      dataType: 'tabular',
      modelPreset: 'tabular-mlp',
      labels: 'Adelie,Chinstrap,Gentoo',
      inputColumns: 'island, bill_length_mm',
      categoricalColumns: 'island',
      outputColumn: 'species',
      inputWidth: '4',
      roundTimeout: '30',
    });
    expect(errors).toEqual([]);
    expect(task!.title).toBe('peng');
    expect((task!.data as Record<string, unknown>).tabular).toEqual({
      input_columns: ['island', 'bill_length_mm'],
      categorical_columns: ['island'],
      output_columns: ['species'],
      standardize: true,
    });
    expect((task!.model as { input_shape: number[] }).input_shape).toEqual([4]);
    expect((task!.federation as Record<string, unknown>).round_timeout_s).toBe(30);
  });
  it('reports required and numeric fields by control', () => {
    const { task, errors } = buildTask({ ...image, id: 'bad id', labels: 'one', epochs: '0', batchSize: 'x', validationSplit: '1' });
    expect(task).toBeUndefined();
    expect(errors.map((e) => e.control)).toEqual(['id', 'labels', 'epochs', 'batchSize', 'validationSplit']);
  });
  it('checks epochs against the round duration', () => {
    const { errors } = buildTask({ ...image, epochs: '5', roundDuration: '2' });
    expect(errors).toEqual([{ control: 'epochs', message: 'Epochs must be a multiple of the round duration (2)' }]);
  });
  it('picks the preset for the data type automatically', () => {
    const { task } = buildTask({ ...DEFAULT_VALUES, id: 't', dataType: 'text', sequenceLength: '32' });
    const model = task!.model as { input_shape: number[]; layers: { type: string; units?: number }[] };
    expect(model.input_shape).toEqual([32]);
    expect(model.layers.map((l) => l.type)).toEqual(['dense', 'dense']);
    expect(model.layers[1].units).toBe(257);
    expect((task!.data as Record<string, unknown>).labels).toBeUndefined();
  });
  it('uses an uploaded model spec and keeps its optimizer', () => {
    const spec = { input_shape: [28, 28, 1], layers: [{ type: 'flatten' }], optimizer: { type: 'sgd' } };
    const { task } = buildTask({ ...image, modelPreset: 'custom', modelSpecText: JSON.stringify(spec) });
    expect(task!.model).toEqual(spec);
    const bad = buildTask({ ...image, modelPreset: 'custom', modelSpecText: '[1' });
    expect(bad.errors[0].control).toBe('modelFile');
  });
});

describe('fieldToControl', () => {
  it('maps server field paths to form controls', () => {
    expect(fieldToControl('training.batch_size', 'mnist-cnn')).toBe('batchSize');
    expect(fieldToControl('data.labels', 'mnist-cnn')).toBe('labels');
    expect(fieldToControl('data.image.channels', 'mnist-cnn')).toBe('imageChannels');
    expect(fieldToControl('federation.min_participants', 'mnist-cnn')).toBe('minParticipants');
    expect(fieldToControl('model.optimizer.learning_rate', 'mnist-cnn')).toBe('learningRate');
    expect(fieldToControl('model.layers[2].units', 'mnist-cnn')).toBe('modelPreset');
    expect(fieldToControl('model.layers[2].units', 'custom')).toBe('modelFile');
    expect(fieldToControl('model.input_shape', 'auto', 'tabular')).toBe('inputWidth');
    expect(fieldToControl('model.input_shape', 'auto', 'image')).toBe('modelPreset');
    expect(fieldToControl('dataset', 'mnist-cnn')).toBeUndefined();
    expect(fieldToControl(undefined, 'mnist-cnn')).toBeUndefined();
  });

  it('tells a control of its own from one standing for a larger part', () => {
    expect(fieldIsControl('training.batch_size')).toBe(true);
    expect(fieldIsControl('model.layers[2].units')).toBe(false);
    expect(fieldIsControl('data.image.foo')).toBe(false);
    expect(fieldIsControl(undefined)).toBe(false);
  });
});
