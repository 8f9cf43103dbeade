import { describe, expect, it } from 'vitest';
import { linePath, linearScale, niceTicks, xDomain, yDomain } from './chartScale';

describe('chart scales', () => {
  it('makes nice ticks covering the data', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = niceTicks(0.13, 2.31);
    expect(t[0]).toBeLessThanOrEqual(0.13);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(2.31);
    expect(niceTicks(3, 3).length).toBeGreaterThan(1);
  });
  it('computes domains', () => {
    expect(yDomain([[{ x: 1, y: 0.3 }], [{ x: 2, y: 0.9 }]])).toEqual([0.2, 1]);
    expect(yDomain([], [0, 1])).toEqual([0, 1]);
    expect(yDomain([[{ x: 1, y: NaN }]])).toEqual([0, 1]);
    expect(xDomain([[{ x: 4, y: 0 }]])).toEqual([3, 5]);
  });
  it('maps linearly, including inverted ranges', () => {
    const s = linearScale([0, 10], [100, 0]);
    expect(s(0)).toBe(100);
    expect(s(5)).toBe(50);
    expect(s(10)).toBe(0);
  });
  it('draws paths that break at missing values', () => {
    const id = (v: number) => v;
    expect(linePath([{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: NaN }, { x: 3, y: 4 }], id, id)).toBe(
      'M0.0,1.0L1.0,2.0M3.0,4.0',
    );
  });
});
