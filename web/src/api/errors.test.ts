import { describe, expect, it } from 'vitest';
import { fieldFromMessage, parseApiError, shortMessage } from './errors';

describe('server errors', () => {
  it('uses the field of the JSON body', () => {
    expect(parseApiError(400, '{"error": "request body: training.batch_size: must be a positive integer, got 0", "field": "training.batch_size"}')).toEqual({
      status: 400,
      message: 'request body: training.batch_size: must be a positive integer, got 0',
      field: 'training.batch_size',
    });
  });
  it('falls back to the message prefix', () => {
    expect(parseApiError(400, '{"error": "request body: model.layers[2].units: must be a positive integer"}').field).toBe(
      'model.layers[2].units',
    );
    expect(fieldFromMessage('federation.min_participants: must be > 0')).toBe('federation.min_participants');
    expect(fieldFromMessage('data.labels: image tasks need at least 2 labels')).toBe('data.labels');
    expect(fieldFromMessage('id: may contain only letters')).toBe('id');
    expect(fieldFromMessage("task 'x' already exists")).toBeUndefined();
    expect(fieldFromMessage('request body: not JSON')).toBeUndefined();
  });
  it('copes with bodies that are not JSON', () => {
    expect(parseApiError(502, 'Bad gateway')).toEqual({ status: 502, message: 'Bad gateway' });
    expect(parseApiError(500, '')).toEqual({ status: 500, message: 'HTTP 500' });
  });
  it('shortens messages for display next to the field', () => {
    expect(shortMessage('request body: training.epochs: must be a multiple', 'training.epochs')).toBe('must be a multiple');
    expect(shortMessage('other', undefined)).toBe('other');
  });
});
