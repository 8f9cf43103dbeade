import { describe, expect, it } from 'vitest';
import { predictCsv, testCsv } from './results';

describe('result exports', () => {
  it('writes test results with a correctness column', () => {
    const csv = testCsv({
      loss: 0.1,
      accuracy: 0.5,
      labels: ['a', 'b'],
      confusion: [
        [1, 0],
        [1, 0],
      ],
      samples: [
        { name: 'x,1.png', label: 'a', predicted: 'a', confidence: 0.91234 },
        { name: '2', label: 'b', predicted: 'a', confidence: 0.5 },
      ],
    });
    expect(csv).toBe('sample,label,predicted,confidence,correct\r\n"x,1.png",a,a,0.9123,true\r\n2,b,a,0.5000,false\r\n');
  });
  it('writes predictions', () => {
    expect(predictCsv({ labels: ['a'], samples: [{ name: '1', label: null, predicted: 'a', confidence: 1 }] })).toBe(
      'sample,predicted,confidence\r\n1,a,1.0000\r\n',
    );
  });
});
