// SPDX-License-Identifier: Apache-2.0
// Test and prediction results as CSV exports.
import type { PredictResult, TestResult } from '../engine/protocol';
import { toCsv } from './csv';

export function testCsv(r: TestResult): string {
  return toCsv(
    ['sample', 'label', 'predicted', 'confidence', 'correct'],
    r.samples.map((s) => [s.name, s.label, s.predicted, s.confidence.toFixed(4), s.label === s.predicted ? 'true' : 'false']),
  );
}

export function predictCsv(r: PredictResult): string {
  return toCsv(
    ['sample', 'predicted', 'confidence'],
    r.samples.map((s) => [s.name, s.predicted, s.confidence.toFixed(4)]),
  );
}

