/* SPDX-License-Identifier: Apache-2.0
 * disco's flat C ABI over core + proto: what the browser's TypeScript (src/wasm/disco.ts) calls.
 * The TypeScript side only moves bytes and draws UI; every protocol and ML decision is made here.
 * docs/wasm-abi.md is the full reference; the rules in short (leveldb c.h conventions):
 *
 * Handles. Every object is an opaque pointer created by a disco_*_create/_parse/_from_* function
 *   and destroyed by its disco_*_free (free(NULL) is a no-op). A handle that borrows another says
 *   so ("must remain live while ..."); free the borrower first.
 * Bytes in. (const uint8_t* data, size_t size) pairs are borrowed for the call only.
 * Bytes out. A disco_buffer* owned by the caller: read disco_buffer_data/_size, then
 *   disco_buffer_free. Strings returned as const char* belong to their handle and stay valid
 *   until the handle is freed (or the call documented to invalidate them).
 * Errors. Fallible functions return DISCO_OK (0) or an error code, or NULL instead of a handle /
 *   buffer. The code and message of the last failure on the calling thread are read with
 *   disco_last_error_code() / disco_last_error() (valid until the next failing call on that
 *   thread). Successful calls do not clear them. Caller bugs (a NULL handle) abort.
 * Numbers. No 64-bit integers cross the boundary (they would be BigInt or split in JS): sizes are
 *   size_t (32-bit in wasm32), counts and rounds uint32_t, seeds uint32_t, times double ms.
 * Threads. Handles are not thread-safe: use each one from one thread at a time (the browser's
 *   training worker). A trainer may run its kernels on a pool of n_threads (see
 *   disco_trainer_create); that pool is internal.
 */
#ifndef DISCO_WASM_CAPI_H_
#define DISCO_WASM_CAPI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define DISCO_API EMSCRIPTEN_KEEPALIVE
#else
#define DISCO_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ---------------------------------------------------------------------------------- */

/* Mirrors disco::Errc, plus DISCO_OK. */
enum {
  DISCO_OK = 0,
  DISCO_INVALID_ARGUMENT = 1,
  DISCO_NOT_FOUND = 2,
  DISCO_CORRUPTION = 3,
  DISCO_PROTOCOL_VIOLATION = 4,
  DISCO_UNAVAILABLE = 5,
  DISCO_CANCELLED = 6,
  DISCO_INTERNAL = 7,
};

/* The last failure on this thread: DISCO_OK and "" when nothing failed yet. */
DISCO_API int disco_last_error_code(void);
DISCO_API const char* disco_last_error(void);

/* "0.1.0": the library version. Static string. */
DISCO_API const char* disco_version(void);
/* The largest n_threads disco_trainer_create accepts in this build (1 without pthreads). */
DISCO_API uint32_t disco_max_threads(void);

/* ---- Buffers (bytes returned to the caller) -------------------------------------------------- */

typedef struct disco_buffer disco_buffer;
DISCO_API const uint8_t* disco_buffer_data(const disco_buffer* buffer);
DISCO_API size_t disco_buffer_size(const disco_buffer* buffer);
DISCO_API void disco_buffer_free(disco_buffer* buffer);

/* ---- Task --------------------------------------------------------------------------------------
 */

typedef struct disco_task disco_task;
/* Parses a task JSON document. NULL on error: INVALID_ARGUMENT naming the field
 * ("training.batch_size: must be a positive integer, got 0"), CORRUPTION for text that is not
 * JSON. */
DISCO_API disco_task* disco_task_parse(const uint8_t* json, size_t size);
DISCO_API void disco_task_free(disco_task* task);
/* {"id", "title", "summary", "description", "data_type", "labels", "n_rounds", "training":
 * {"epochs", "batch_size", "validation_split", "seed", "round_duration"}, "federation":
 * {"scheme", "min_participants", "proximal_mu"}, "raw": <the document>}. Never NULL. */
DISCO_API disco_buffer* disco_task_info_json(const disco_task* task);

/* ---- Model -------------------------------------------------------------------------------------
 */

typedef struct disco_model disco_model;
/* The task's model, weights initialised from Rng(seed). Never fails for a parsed task. */
DISCO_API disco_model* disco_model_create(const disco_task* task, uint32_t seed);
/* A model rebuilt from a disco safetensors file (its "spec" metadata). NULL on error:
 * CORRUPTION (malformed file), INVALID_ARGUMENT (no disco spec, shape mismatch). */
DISCO_API disco_model* disco_model_load(const uint8_t* safetensors, size_t size);
DISCO_API void disco_model_free(disco_model* model);
/* Loads the weights of a safetensors file into `model` (same architecture required).
 * Errors: CORRUPTION, INVALID_ARGUMENT (a parameter missing or of another shape); on error
 * the model is unchanged. */
DISCO_API int disco_model_load_weights(disco_model* model, const uint8_t* safetensors, size_t size);
/* The model as safetensors. `metadata_json` is NULL or a JSON object of string values added to
 * __metadata__ (e.g. {"tabular_transform": "..."}). NULL on error: INVALID_ARGUMENT for bad
 * metadata JSON. */
DISCO_API disco_buffer* disco_model_save(const disco_model* model, const uint8_t* metadata_json,
                                         size_t size);
/* 16 lowercase hex digits; owned by the model. */
DISCO_API const char* disco_model_fingerprint(const disco_model* model);
DISCO_API size_t disco_model_n_weights(const disco_model* model);
/* The weight block itself (n_weights floats), owned by the model, valid while it lives. In wasm
 * a JS view on it must be re-created after memory growth; prefer get/set for copies. */
DISCO_API float* disco_model_weights(disco_model* model);
/* Copy out / in exactly n_weights floats. Errors: INVALID_ARGUMENT when n != n_weights. */
DISCO_API int disco_model_get_weights(const disco_model* model, float* out, size_t n);
DISCO_API int disco_model_set_weights(disco_model* model, const float* weights, size_t n);

/* ---- Dataset -----------------------------------------------------------------------------------
 */

typedef struct disco_dataset disco_dataset;
/* IDX images + labels (MNIST format) for an image task; class names from the task's labels.
 * NULL on error: CORRUPTION (bad files, count mismatch, label out of range), INVALID_ARGUMENT
 * (the task is not an image task or the images do not fit its model). */
DISCO_API disco_dataset* disco_dataset_from_idx(const disco_task* task, const uint8_t* images,
                                                size_t images_size, const uint8_t* labels,
                                                size_t labels_size);
/* CSV for a tabular task, through the task's tabular transform. `transform_json` NULL: the
 * transform is fitted on this CSV (training data); else it is a transform from
 * disco_dataset_transform_json (validation / test data). NULL on error: CORRUPTION / NOT_FOUND /
 * INVALID_ARGUMENT with "source:line: column ..." messages, INVALID_ARGUMENT when the task is not
 * tabular or the data does not fit its model. */
DISCO_API disco_dataset* disco_dataset_from_csv(const disco_task* task, const uint8_t* csv,
                                                size_t csv_size, const uint8_t* transform_json,
                                                size_t transform_size);
/* Raw floats: x holds n_samples rows of the model's input shape, y n_samples class indices
 * (n_classes > 0) or n_samples rows of targets (n_classes == 0, y_count a multiple of
 * n_samples). NULL on error: INVALID_ARGUMENT for sizes that do not match or labels out of
 * range. */
DISCO_API disco_dataset* disco_dataset_from_floats(const disco_model* model, uint32_t n_samples,
                                                   const float* x, size_t x_count, const float* y,
                                                   size_t y_count, uint32_t n_classes);
DISCO_API void disco_dataset_free(disco_dataset* dataset);
DISCO_API uint32_t disco_dataset_size(const disco_dataset* dataset);
/* The fitted tabular transform as JSON (CSV datasets only; NULL with INVALID_ARGUMENT else). */
DISCO_API disco_buffer* disco_dataset_transform_json(const disco_dataset* dataset);
/* Splits round(fraction * n) rows off `dataset` (which keeps the rest) and returns them, chosen
 * with Rng(seed), stratified for single-label classification (as the CLI). NULL on error:
 * INVALID_ARGUMENT (fraction not in [0, 1)). */
DISCO_API disco_dataset* disco_dataset_split(disco_dataset* dataset, double fraction,
                                             uint32_t seed);

/* ---- Trainer -----------------------------------------------------------------------------------
 */

typedef struct disco_trainer disco_trainer;
/* A trainer for `model` (borrowed: must remain live while the trainer is). n_threads 1 runs on
 * the caller; N > 1 starts a pool of N - 1 threads (pthreads in wasm: N <= disco_max_threads()).
 * NULL on error: INVALID_ARGUMENT (n_threads 0 or too large, bad optimizer spec). */
DISCO_API disco_trainer* disco_trainer_create(disco_model* model, uint32_t n_threads,
                                              uint32_t seed);
DISCO_API void disco_trainer_free(disco_trainer* trainer);
/* Starts an epoch over `data` (borrowed until disco_trainer_end_epoch), shuffled by the
 * trainer's Rng. Errors: INVALID_ARGUMENT (batch_size 0, empty or incompatible data, an epoch
 * or a round already in progress). */
DISCO_API int disco_trainer_begin_epoch(disco_trainer* trainer, const disco_dataset* data,
                                        uint32_t batch_size);
/* Trains one batch: 1 when a batch was trained, 0 when the epoch has no batch left, -1 with
 * INVALID_ARGUMENT when no epoch is in progress. */
DISCO_API int disco_trainer_step(disco_trainer* trainer);
DISCO_API uint32_t disco_trainer_batches_done(const disco_trainer* trainer);
DISCO_API uint32_t disco_trainer_n_batches(const disco_trainer* trainer);
/* Running loss / accuracy over the batches of the current epoch so far. */
DISCO_API double disco_trainer_loss(const disco_trainer* trainer);
DISCO_API double disco_trainer_accuracy(const disco_trainer* trainer);
/* Ends the epoch (after step returned 0, or early), evaluating on `validation` when not NULL.
 * Returns {"epoch", "loss", "accuracy", "n_samples", "validation": <evaluation> | null}.
 * NULL with INVALID_ARGUMENT when no epoch is in progress. */
DISCO_API disco_buffer* disco_trainer_end_epoch(disco_trainer* trainer,
                                                const disco_dataset* validation);
/* {"loss", "accuracy", "n", "n_classes", "confusion": [[...]], "precision", "recall"}.
 * NULL on error: INVALID_ARGUMENT (batch_size 0, incompatible or empty data, busy trainer). */
DISCO_API disco_buffer* disco_trainer_evaluate(disco_trainer* trainer, const disco_dataset* data,
                                               uint32_t batch_size);
/* Model outputs for x_count / input_size samples, as float32 bytes (n x output size):
 * probabilities for softmax / sigmoid models. NULL on error: INVALID_ARGUMENT (x_count not a
 * positive multiple of the input size, batch_size 0, busy trainer). */
DISCO_API disco_buffer* disco_trainer_predict(disco_trainer* trainer, const float* x,
                                              size_t x_count, uint32_t batch_size);

/* ---- Local federated round (core::LocalRound) -------------------------------------------------
 */

typedef struct disco_round disco_round;
/* Loads `global` (copied) into the trainer's model and prepares `epochs` epochs on `data`
 * (borrowed until the round is freed) with the FedProx term mu. has_seed != 0 reseeds the
 * trainer's Rng with `seed`. The trainer is busy until the round is freed. NULL on error:
 * INVALID_ARGUMENT (wrong weight count, empty or incompatible data, epochs / batch_size 0,
 * negative mu, busy trainer). */
DISCO_API disco_round* disco_round_begin(disco_trainer* trainer, const disco_dataset* data,
                                         const float* global, size_t n_global, uint32_t epochs,
                                         uint32_t batch_size, float proximal_mu, int has_seed,
                                         uint32_t seed);
/* 1 when a batch was trained, 0 when all epochs are done (the round is finished then: delta
 * and metrics are available). */
DISCO_API int disco_round_step(disco_round* round);
DISCO_API uint32_t disco_round_epoch(const disco_round* round);
DISCO_API uint32_t disco_round_batches_done(const disco_round* round);
DISCO_API uint32_t disco_round_n_batches(const disco_round* round);
/* Running metrics while training; the round's metrics once finished. */
DISCO_API double disco_round_loss(const disco_round* round);
DISCO_API double disco_round_accuracy(const disco_round* round);
/* After step returned 0: the delta local - global (n_weights floats, owned by the round),
 * NULL before. */
DISCO_API const float* disco_round_delta(const disco_round* round);
DISCO_API size_t disco_round_delta_size(const disco_round* round);
DISCO_API uint32_t disco_round_n_samples(const disco_round* round);
/* Frees the round; an unfinished round leaves the model partly trained. */
DISCO_API void disco_round_free(disco_round* round);

/* ---- Federated client machine (proto::FederatedClient) ----------------------------------------
 */

typedef struct disco_client disco_client;
/* Action kinds returned by disco_client_next_action. */
enum {
  DISCO_ACTION_NONE = 0,
  DISCO_ACTION_SEND = 1,        /* bytes: one message to send */
  DISCO_ACTION_TRAIN_LOCAL = 2, /* round + weights: train and call on_trained */
  DISCO_ACTION_CLOSE = 3,       /* bytes: the reason (UTF-8); close after flushing */
  DISCO_ACTION_FINISHED = 4,    /* round + weights: the final global model */
};
/* The client side of one session. client_id / join_token may be NULL; hello_timeout_ms 0 =
 * none. NULL on error: INVALID_ARGUMENT (empty task id, bad fingerprint, negative timeout). */
DISCO_API disco_client* disco_client_create(const char* task_id, const char* model_fingerprint,
                                            const char* client_id, const char* join_token,
                                            double hello_timeout_ms);
DISCO_API void disco_client_free(disco_client* client);
/* Inputs; `now_ms` is the host clock (performance.now()). Drain next_action after each. */
DISCO_API void disco_client_on_connected(disco_client* client, double now_ms);
DISCO_API void disco_client_on_message(disco_client* client, const uint8_t* bytes, size_t size,
                                       double now_ms);
/* Local training for `round` finished with this delta (copied). loss / accuracy: NaN when
 * absent. A delta of the wrong length or n_samples 0 fails the machine (phase Failed, see
 * status); a stale round is ignored. */
DISCO_API void disco_client_on_trained(disco_client* client, uint32_t round, const float* delta,
                                       size_t n, uint32_t n_samples, double loss, double accuracy,
                                       double now_ms);
DISCO_API void disco_client_on_timeout(disco_client* client, double now_ms);
/* Pops the next action into the client's current action and returns its kind (NONE when
 * empty). The accessors below read the current action; their pointers stay valid until the next
 * disco_client_next_action or disco_client_free. */
DISCO_API int disco_client_next_action(disco_client* client);
DISCO_API const uint8_t* disco_client_action_bytes(const disco_client* client);
DISCO_API size_t disco_client_action_size(const disco_client* client);
DISCO_API uint32_t disco_client_action_round(const disco_client* client);
DISCO_API const float* disco_client_action_weights(const disco_client* client);
DISCO_API size_t disco_client_action_n_weights(const disco_client* client);
/* When to call on_timeout (host ms), or NaN when no timer is needed. */
DISCO_API double disco_client_deadline(const disco_client* client);
/* {"phase", "round", "n_rounds_completed", "n_connected", "n_required", "client_id", "n_params",
 * "last_round_metrics": {"loss", "accuracy"} | null, "last_error": {"code", "message"} | null}. */
DISCO_API disco_buffer* disco_client_status_json(const disco_client* client);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // DISCO_WASM_CAPI_H_
