// SPDX-License-Identifier: Apache-2.0
// A small responsive SVG line chart (no chart library): one or more series over x.
import { linePath, linearScale, niceTicks, xDomain, yDomain, type Point } from '../chartScale';
import { h, s } from '../dom';
import { formatNumber } from '../format';

export interface Series {
  name: string;
  /** CSS class giving the colour: series-1 .. series-4. */
  className: string;
  points: Point[];
}

const W = 320;
const H = 180;
const M = { top: 12, right: 12, bottom: 30, left: 44 };

export interface LineChart {
  root: HTMLElement;
  update(series: Series[]): void;
}

export function lineChart(title: string, xLabel: string, fixedY?: [number, number]): LineChart {
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg' });
  const legend = h('ul', { class: 'legend' });
  const empty = h('p', { class: 'chart-empty' }, 'No data yet');
  const root = h('figure', { class: 'chart' }, h('figcaption', null, title), svg, legend, empty);

  const update = (series: Series[]) => {
    const withData = series.filter((x) => x.points.some((p) => Number.isFinite(p.y)));
    empty.hidden = withData.length > 0;
    const pts = withData.map((x) => x.points);
    const [x0, x1] = xDomain(pts);
    const [y0, y1] = yDomain(pts, fixedY);
    const sx = linearScale([x0, x1], [M.left, W - M.right]);
    const sy = linearScale([y0, y1], [H - M.bottom, M.top]);
    const kids: SVGElement[] = [];
    for (const t of niceTicks(y0, y1).filter((t) => t >= y0 - 1e-9 && t <= y1 + 1e-9)) {
      kids.push(s('line', { x1: M.left, x2: W - M.right, y1: sy(t), y2: sy(t), class: 'grid' }));
      kids.push(s('text', { x: M.left - 6, y: sy(t) + 4, 'text-anchor': 'end', class: 'tick' }, formatNumber(t, 3)));
    }
    const xt = niceTicks(x0, x1, 5).filter((t) => Number.isInteger(t) && t >= x0 && t <= x1);
    for (const t of xt) kids.push(s('text', { x: sx(t), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, t));
    kids.push(s('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: 'axis' }));
    kids.push(s('text', { x: (M.left + W - M.right) / 2, y: H - 2, 'text-anchor': 'middle', class: 'axis-label' }, xLabel));
    for (const x of withData) {
      kids.push(s('path', { d: linePath(x.points, sx, sy), class: `line ${x.className}` }));
      const finite = x.points.filter((p) => Number.isFinite(p.y));
      if (finite.length <= 30)
        for (const p of finite) kids.push(s('circle', { cx: sx(p.x), cy: sy(p.y), r: 2.5, class: `dot ${x.className}` }));
    }
    svg.replaceChildren(...kids);
    const last = withData
      .map((x) => {
        const p = x.points.filter((q) => Number.isFinite(q.y)).at(-1)!;
        return `${x.name} ${formatNumber(p.y)} at ${xLabel.toLowerCase()} ${p.x}`;
      })
      .join(', ');
    svg.setAttribute('aria-label', `${title}: ${last || 'no data yet'}`);
    legend.replaceChildren(
      ...series.map((x) => h('li', null, h('span', { class: `swatch ${x.className}`, 'aria-hidden': 'true' }), x.name)),
    );
  };
  update([]);
  return { root, update };
}
