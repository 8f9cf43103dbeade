import { describe, expect, it } from 'vitest';
import { csvHeader, parseCsv, toCsv } from './csv';

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\n1,\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['1', ''],
    ]);
  });
  it('keeps newlines inside quotes and stops at maxRows', () => {
    expect(parseCsv('a\n"l1\nl2"\nz', 2)).toEqual([['a'], ['l1\nl2']]);
  });
  it('reads the trimmed header', () => {
    expect(csvHeader(' species , island\n1,2')).toEqual(['species', 'island']);
    expect(csvHeader('')).toEqual([]);
  });
});

describe('toCsv', () => {
  it('quotes only where needed and round-trips', () => {
    const text = toCsv(['name', 'label'], [['a,b.png', 'T-shirt/top'], ['q"uote', null], [' pad', 3]]);
    expect(text).toBe('name,label\r\n"a,b.png",T-shirt/top\r\n"q""uote",\r\n" pad",3\r\n');
    expect(parseCsv(text)).toEqual([
      ['name', 'label'],
      ['a,b.png', 'T-shirt/top'],
      ['q"uote', ''],
      [' pad', '3'],
    ]);
  });
});
