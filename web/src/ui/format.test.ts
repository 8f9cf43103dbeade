import { describe, expect, it } from 'vitest';
import { formatBytes, formatPercent, formatRound, formatStatus } from './format';

describe('format', () => {
  it('formats percentages as the e2e test expects', () => {
    expect(formatPercent(0.875)).toBe('87.5%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.12345)).toBe('12.3%');
    expect(formatPercent(NaN)).toBe('–');
  });
  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KB');
    expect(formatBytes(35 * 1024 * 1024)).toBe('35 MB');
  });
  it('formats status events', () => {
    expect(formatStatus({ type: 'status', phase: 'waiting', message: 'waiting for participants 1/2' })).toBe(
      'Waiting for participants 1/2',
    );
    expect(formatStatus({ type: 'status', phase: 'waiting', message: '', participants: 1, minParticipants: 3 })).toBe(
      'Waiting for participants 1/3',
    );
    expect(formatStatus({ type: 'status', phase: 'training', message: '', round: 2, nRounds: 5 })).toBe(
      'Training (round 2 / 5)…',
    );
    expect(formatStatus({ type: 'status', phase: 'training', message: 'round 2/5: training' })).toBe('Round 2/5: training');
    expect(formatStatus({ type: 'status', phase: 'finished', message: 'done' })).toBe('Training finished');
    expect(formatStatus({ type: 'status', phase: 'stopped', message: '' })).toBe('Training stopped');
    expect(formatStatus({ type: 'status', phase: 'failed', message: 'socket closed' })).toBe(
      'Training failed: socket closed',
    );
  });
  it('formats rounds', () => {
    expect(formatRound(3, 10)).toBe('Round 3 / 10');
    expect(formatRound(undefined, 10)).toBe('Round – / 10');
  });
});
