// SPDX-License-Identifier: Apache-2.0
// Starts the training engine (the WebAssembly core in a Web Worker). `?engine=fake` in the page
// URL starts a scripted stand-in instead, for trying the UI without the WebAssembly build.
import type { Engine } from '../engine/protocol';

export async function startEngine(): Promise<Engine> {
  if (new URLSearchParams(location.search).get('engine') === 'fake') return (await import('./fakeEngine')).createFakeEngine();
  return (await import('../engine/engine')).createEngine();
}
