// SPDX-License-Identifier: Apache-2.0
// Turning a DataSource (files as the user picked them) into a Dataset through the C ABI. All
// decoding, parsing and checking happens in C++ (capi.h "Data as the user picked it"); this file
// only feeds the files in, one at a time, and releases each file's bytes once decoded.
import { Dataset, type Disco, ImageBuilder, Labels, type LabelMode, type Task } from '@wasm/disco';
import type { DataRole, DataSource, DataSummary } from './protocol';
import { type Clock, monotonic, pause } from './runtime';

/** Inference batches (evaluation, prediction): the task's batch size, at least 256 (as
 *  `disco evaluate`). */
export function evalBatchSize(task: Task): number {
  return Math.max(task.info.training.batch_size, 256);
}

/** A connected data set and what the worker keeps about it. */
export interface Connected {
  dataset: Dataset;
  /** Per-sample names in dataset order: file names (images) or 1-based rows. */
  names: string[];
  summary: DataSummary;
}

/** Training and test data need labels; prediction data uses them when every sample has one. */
export function labelMode(role: DataRole): LabelMode {
  return role === 'predict' ? Labels.Optional : Labels.Required;
}

export interface BuildOptions {
  /** The tabular transform of the training data (or of the loaded model), for test and
   *  prediction CSVs; null for training data (fitted on it). */
  transformJson: string | null;
  /** Called every ~100 ms while images are decoded. */
  onProgress?: (done: number, total: number) => void;
  clock?: Clock;
}

/**
 * Builds the Dataset of `source` for `role`. Errors are the C ABI's, naming the file (and line);
 * the Dataset is owned by the caller (dispose()). Image bytes are dropped from `source` as they
 * are decoded.
 */
export async function buildDataset(disco: Disco, task: Task, role: DataRole, source: DataSource, o: BuildOptions): Promise<Connected> {
  const mode = labelMode(role);
  let dataset: Dataset;
  let names: string[] | null = null;
  switch (source.kind) {
    case 'images': {
      const builder = new ImageBuilder(disco, task, mode);
      const clock = o.clock ?? monotonic;
      try {
        const files = source.files;
        names = files.map((f) => f.name);
        let sliceStart = clock();
        for (let i = 0; i < files.length; i++) {
          const file = files[i]!;
          builder.add(file.name, new Uint8Array(file.bytes), file.label);
          file.bytes = new ArrayBuffer(0); // decoded: let the encoded bytes go
          if (clock() - sliceStart >= 100) {
            o.onProgress?.(i + 1, files.length);
            await pause();
            sliceStart = clock();
          }
        }
        o.onProgress?.(files.length, files.length);
        dataset = builder.finish();
      } finally {
        builder.dispose();
      }
      break;
    }
    case 'csv':
      dataset = Dataset.fromTable(disco, task, source.name, new Uint8Array(source.bytes), source.columns ?? null, o.transformJson, mode);
      break;
    case 'text':
      dataset = Dataset.fromText(disco, task, source.name, new Uint8Array(source.bytes), mode);
      break;
  }
  const info = dataset.info();
  const perLabel: Record<string, number> = {};
  info.per_class.forEach((count, k) => {
    perLabel[info.classes[k] ?? String(k)] = count;
  });
  return {
    dataset,
    names: names ?? Array.from({ length: info.n }, (_, i) => String(i + 1)),
    summary: { role, count: info.n, perLabel },
  };
}
