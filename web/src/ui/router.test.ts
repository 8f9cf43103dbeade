import { describe, expect, it } from 'vitest';
import { isRouterClick, matchRoute, taskPath } from './router';

describe('matchRoute', () => {
  it('matches the pages', () => {
    expect(matchRoute('/')).toEqual({ name: 'tasks' });
    expect(matchRoute('/models')).toEqual({ name: 'models' });
    expect(matchRoute('/models/')).toEqual({ name: 'models' });
    expect(matchRoute('/create')).toEqual({ name: 'create' });
    expect(matchRoute('/tasks/fashion-mnist')).toEqual({ name: 'task', id: 'fashion-mnist' });
  });
  it('decodes task ids and round-trips taskPath', () => {
    expect(matchRoute(taskPath('a b/c'))).toEqual({ name: 'task', id: 'a b/c' });
  });
  it('reports unknown paths', () => {
    expect(matchRoute('/tasks')).toEqual({ name: 'notFound', path: '/tasks' });
    expect(matchRoute('/tasks/a/b')).toEqual({ name: 'notFound', path: '/tasks/a/b' });
    expect(matchRoute('/tasks/%E0%A4%A')).toEqual({ name: 'notFound', path: '/tasks/%E0%A4%A' });
  });
});

describe('isRouterClick', () => {
  const plain = { button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false, defaultPrevented: false };
  it('handles same-origin app links', () => {
    expect(isRouterClick(plain, '/tasks/x', null, false)).toBe(true);
  });
  it('leaves other clicks to the browser', () => {
    expect(isRouterClick({ ...plain, ctrlKey: true }, '/tasks/x', null, false)).toBe(false);
    expect(isRouterClick(plain, 'https://example.org/', null, false)).toBe(false);
    expect(isRouterClick(plain, '//example.org/', null, false)).toBe(false);
    expect(isRouterClick(plain, '/api/tasks/x/model', null, false)).toBe(false);
    expect(isRouterClick(plain, '/x', '_blank', false)).toBe(false);
    expect(isRouterClick(plain, '/x', null, true)).toBe(false);
  });
});
