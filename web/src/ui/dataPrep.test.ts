import { describe, expect, it } from 'vitest';
import {
  checkMapping,
  countLabels,
  defaultMapping,
  firstPerLabel,
  groupByFolder,
  mappingForEngine,
  matchLabels,
  parentFolder,
  parseLabelsCsv,
  requiredColumns,
  resolveLabel,
  tabularColumns,
} from './dataPrep';

const fashion = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

describe('label folders', () => {
  it('finds the parent folder', () => {
    expect(parentFolder('train/cat/1.png')).toBe('cat');
    expect(parentFolder('cat\\1.png')).toBe('cat');
    expect(parentFolder('1.png')).toBeNull();
  });
  it('resolves folder names to task labels', () => {
    expect(resolveLabel('Trouser', fashion)).toBe('Trouser');
    expect(resolveLabel('trouser', fashion)).toBe('Trouser');
    expect(resolveLabel('T-shirt_top', fashion)).toBe('T-shirt/top');
    expect(resolveLabel('ankle-boot', fashion)).toBe('Ankle boot');
    expect(resolveLabel('0', fashion)).toBe('T-shirt/top');
    expect(resolveLabel('10', fashion)).toBeNull();
    expect(resolveLabel('Hat', fashion)).toBeNull();
    // A label that is itself a number is taken literally, not as an index.
    expect(resolveLabel('1', ['0', '1'])).toBe('1');
  });
  it('groups files and names bad folders and loose files', () => {
    const g = groupByFolder(
      [
        { path: 'data/Trouser/a.png', item: 1 },
        { path: 'data/T-shirt_top/b.png', item: 2 },
        { path: 'data/Hat/c.png', item: 3 },
        { path: 'data/Hat/d.png', item: 4 },
        { path: 'data/.DS_Store', item: 5 },
        { path: 'loose.png', item: 6 },
      ],
      fashion,
    );
    expect(g.items.map((i) => [i.item, i.name, i.label])).toEqual([
      [1, 'a.png', 'Trouser'],
      [2, 'b.png', 'T-shirt/top'],
    ]);
    expect(g.errors).toHaveLength(2);
    expect(g.errors[0]).toContain('loose.png');
    expect(g.errors[1]).toContain('"Hat"');
  });
  it('counts labels in task order, including empty ones', () => {
    expect(countLabels(['b', 'a', 'b', 'z'], ['a', 'b', 'c'])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 0],
      ['z', 1],
    ]);
  });
  it('keeps the first n per label', () => {
    const items = [1, 2, 3, 4].map((i) => ({ item: i, name: `${i}`, label: i % 2 ? 'odd' : 'even' }));
    const f = firstPerLabel(items, 1);
    expect([...f.entries()].map(([k, v]) => [k, v.map((x) => x.item)])).toEqual([
      ['odd', [1]],
      ['even', [2]],
    ]);
  });
});

describe('labels CSV', () => {
  it('parses filename,label and reports bad lines with the file name', () => {
    const r = parseLabelsCsv('Label,Filename\nTrouser,a.png\nHat,b.png\nBag,a.png\n,\n', 'labels.csv', fashion);
    expect([...r.labels]).toEqual([['a.png', 'Trouser']]);
    expect(r.errors).toEqual([
      'labels.csv:3: "Hat" is not one of the task\'s labels',
      'labels.csv:4: "a.png" appears twice',
      'labels.csv:5: missing file name',
    ]);
  });
  it('refuses a CSV without the header', () => {
    expect(parseLabelsCsv('a.png,Trouser\n', 'l.csv', fashion).errors[0]).toContain('l.csv');
  });
  it('matches images by name or by name without extension', () => {
    const labels = new Map([
      ['a.png', 'x'],
      ['b', 'y'],
      ['unused.png', 'z'],
    ]);
    const m = matchLabels(
      [
        { name: 'a.png', item: 1 },
        { name: 'b.jpg', item: 2 },
        { name: 'c.png', item: 3 },
      ],
      labels,
    );
    expect(m.items.map((i) => [i.item, i.label])).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
    expect(m.unlabelled).toEqual(['c.png']);
    expect(m.unused).toBe(1);
  });
});

describe('tabular mapping', () => {
  const task = {
    id: 'p',
    data: { type: 'tabular', tabular: { input_columns: ['island', 'bill_length_mm'], output_columns: ['species'] } },
  };
  const cols = tabularColumns(task);
  it('reads the task columns', () => {
    expect(requiredColumns(cols, true)).toEqual(['island', 'bill_length_mm', 'species']);
    expect(requiredColumns(cols, false)).toEqual(['island', 'bill_length_mm']);
    expect(tabularColumns({ id: 'x' })).toEqual({ inputs: [], outputs: [] });
  });
  it('defaults to same-named columns and reports missing ones', () => {
    const header = ['Island', 'bill_length_mm', 'other'];
    const m = defaultMapping(requiredColumns(cols, true), header);
    expect(m).toEqual({ island: 'Island', bill_length_mm: 'bill_length_mm', species: '' });
    const errors = checkMapping(requiredColumns(cols, true), m, header);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('"species"');
    expect(checkMapping(requiredColumns(cols, false), m, header)).toEqual([]);
    expect(mappingForEngine(m)).toEqual({ island: 'Island' });
    expect(mappingForEngine({ a: 'a' })).toBeUndefined();
  });
  it('refuses one CSV column for two task columns', () => {
    const errors = checkMapping(['a', 'b'], { a: 'x', b: 'x' }, ['x']);
    expect(errors).toEqual(['CSV column "x" is used for both "a" and "b"']);
  });
});
