import { describe, expect, it } from 'vitest';
import { folderName, imageText, layerDetails, privacyText, viewTask } from './taskInfo';

describe('viewTask', () => {
  it('fills the documented defaults', () => {
    const v = viewTask({ id: 'x', data: { type: 'text' }, model: { layers: [] } });
    expect(v.title).toBe('x');
    expect(v.sequenceLength).toBe(64);
    expect(v.training).toEqual({ epochs: 1, batchSize: 32, validationSplit: 0, seed: 0, roundDuration: 1, rounds: 1 });
    expect(v.federation.scheme).toBe('local');
    expect(v.federation.minParticipants).toBe(1);
    expect(v.model.optimizer).toEqual({ type: 'adam' });
    expect(privacyText(v)).toBe('None: updates are sent unmodified');
  });
  it('reads rounds, image format and privacy', () => {
    const v = viewTask({
      id: 'y',
      data: { type: 'image', image: { height: 28, width: 28, channels: 1 }, labels: ['a', 'b'] },
      training: { epochs: 6, round_duration: 2 },
      federation: { scheme: 'federated', min_participants: 3, proximal_mu: 0.1 },
      privacy: { clip: 1 },
    });
    expect(v.training.rounds).toBe(3);
    expect(imageText(v.image!)).toBe('28×28 grayscale');
    expect(v.federation.extra).toEqual({ proximal_mu: 0.1 });
    expect(privacyText(v)).toBe('clip: 1');
  });
  it('describes layers', () => {
    expect(layerDetails({ type: 'conv2d', filters: 8, kernel_size: 5, activation: 'relu' })).toBe('8 filters, kernel 5×5, relu');
    expect(layerDetails({ type: 'dense', units: 10, activation: 'softmax' })).toBe('10 units, softmax');
    expect(layerDetails({ type: 'flatten' })).toBe('–');
    expect(layerDetails({ type: 'batch_normalization', momentum: 0.9 })).toBe('momentum 0.9');
  });
  it('makes folder names from labels', () => {
    expect(folderName('T-shirt/top')).toBe('T-shirt_top');
  });
});
