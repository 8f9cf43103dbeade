// SPDX-License-Identifier: Apache-2.0
// Pure geometry for the line charts: domains, "nice" ticks, linear scales and SVG paths.

export interface Point {
  x: number;
  y: number;
}

/** Round tick values covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const e = 1e-9;
  const step = (norm <= 1 + e ? 1 : norm <= 2 + e ? 2 : norm <= 5 + e ? 5 : 10) * mag;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let t = start; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((start + ticks.length * step).toPrecision(12)));
  return ticks;
}

/** The extent of the y values of all series, widened to nice ticks. */
export function yDomain(series: Point[][], fixed?: [number, number]): [number, number] {
  if (fixed) return fixed;
  const ys = series.flat().map((p) => p.y).filter(Number.isFinite);
  if (ys.length === 0) return [0, 1];
  const t = niceTicks(Math.min(...ys), Math.max(...ys));
  return [t[0], t[t.length - 1]];
}

export function xDomain(series: Point[][]): [number, number] {
  const xs = series.flat().map((p) => p.x);
  if (xs.length === 0) return [0, 1];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

/** A linear map from a domain to a range. */
export function linearScale(domain: [number, number], range: [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** An SVG path through the points (non-finite values break the line). */
export function linePath(points: Point[], sx: (v: number) => number, sy: (v: number) => number): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (!Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}
