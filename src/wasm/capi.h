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

/* ---- Data as the user picked it (files from the browser) -------------------------------------
 * Built in core (image.hpp, tabular.hpp, text.hpp); `name` (a NUL-terminated file name, borrowed
 * for the call) is named in every error: "Sandal/img_12.png: cannot decode image: ...",
 * "data.csv:17: column 'Age': 'abc' is not a number". */

/* Whether samples carry labels (the `labels` argument below). */
enum {
  DISCO_LABELS_NONE = 0,     /* inputs only (prediction): labels given are ignored */
  DISCO_LABELS_REQUIRED = 1, /* every sample needs a label (training, testing) */
  DISCO_LABELS_OPTIONAL = 2, /* labelled iff every sample has a label (prediction whose answers
                                are known); the results then carry the true labels */
};

typedef struct disco_image_builder disco_image_builder;
/* An image data set for an image task, built one file at a time so the caller can report progress
 * and release each file's bytes after its add. NULL on error: INVALID_ARGUMENT (the task is not an
 * image task, `labels` not a DISCO_LABELS_* value). `task` is borrowed: it must remain live while
 * the builder is. */
DISCO_API disco_image_builder* disco_image_builder_create(const disco_task* task, int labels);
DISCO_API void disco_image_builder_free(disco_image_builder* builder);
/* Decodes one PNG / JPEG / BMP file (resized to the task's geometry) and records it with `label`
 * (NULL: none), a name from the task's labels. The bytes are copied (decoded) during the call.
 * Errors, naming `name`: CORRUPTION "name: cannot decode image: <reason>"; INVALID_ARGUMENT
 * "name: unknown label 'x' (labels: a, b, ...)" (REQUIRED / OPTIONAL), "name: no label"
 * (REQUIRED). On error the builder is unchanged. */
DISCO_API int disco_image_builder_add(disco_image_builder* builder, const char* name,
                                      const uint8_t* bytes, size_t size, const char* label);
/* Images added so far. */
DISCO_API uint32_t disco_image_builder_size(const disco_image_builder* builder);
/* Moves the images into a new data set (the builder is empty afterwards; free it still). NULL on
 * error: INVALID_ARGUMENT "no images" when none was added. */
DISCO_API disco_dataset* disco_image_builder_finish(disco_image_builder* builder);

/* A tabular CSV file `name` for a tabular task. `columns_json` (NULL: identity) maps task column
 * names to the CSV's column names, {"species": "Species", ...}; errors about a mapped column name
 * both ("column 'Age (years)' (task column 'age')"); a mapped output column the file lacks is
 * ignored unless labels are REQUIRED. `transform_json` as in
 * disco_dataset_from_csv (NULL: fitted on this file, which then needs labels). `labels`: REQUIRED
 * needs the output columns, NONE ignores them, OPTIONAL uses them when every output column is
 * present. NULL on error: CORRUPTION / NOT_FOUND / INVALID_ARGUMENT with "name:line: column ..."
 * messages; NOT_FOUND "name: no column 'x' (columns: ...)" for a mapping to a column the file
 * lacks; INVALID_ARGUMENT for a bad mapping, a non-tabular task, unlabelled data without a
 * transform. */
DISCO_API disco_dataset* disco_dataset_from_table(const disco_task* task, const char* name,
                                                  const uint8_t* csv, size_t csv_size,
                                                  const uint8_t* columns_json, size_t columns_size,
                                                  const uint8_t* transform_json,
                                                  size_t transform_size, int labels);
/* A UTF-8 text file `name` for a text task. REQUIRED: next-token samples, one per non-empty line
 * (core::make_text_dataset, the task's sequence length). NONE / OPTIONAL: prediction inputs, one
 * per non-empty line: its last sequence-length tokens, left-padded (the model then predicts the
 * byte after the line). NULL on error: INVALID_ARGUMENT "name: no text", a non-text task. */
DISCO_API disco_dataset* disco_dataset_from_text(const disco_task* task, const char* name,
                                                 const uint8_t* text, size_t size, int labels);
/* 1 for labelled data, 0 for prediction inputs. */
DISCO_API int disco_dataset_labelled(const disco_dataset* dataset);
/* {"n", "labelled", "n_classes", "classes": [names], "per_class": [counts] (single-label
 * classification with labels, else [])}. Never NULL. */
DISCO_API disco_buffer* disco_dataset_info_json(const disco_dataset* dataset);

/* The __metadata__ of a safetensors file as a JSON object of strings (e.g. "tabular_transform").
 * NULL on error: CORRUPTION. */
DISCO_API disco_buffer* disco_safetensors_metadata_json(const uint8_t* safetensors, size_t size);

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

/* Per-sample classification of `data` (labelled or not) by the current model, in inference mode:
 * {"classes": [names], "predicted": [class index per sample], "confidence": [its probability],
 *  "label": [true class index per sample] | null (unlabelled data)}. The argmax is over the
 * model's output (a single sigmoid unit: class 1 iff p > 0.5); outputs that are not probabilities
 * go through a softmax first. Text tasks classify the next byte after each sample (the last
 * position). NULL on error: INVALID_ARGUMENT (a regression model, batch_size 0, empty or
 * incompatible data, busy trainer). */
DISCO_API disco_buffer* disco_trainer_classify(disco_trainer* trainer, const disco_dataset* data,
                                               uint32_t batch_size);

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
/* Epochs of this round finished so far, and the training loss / accuracy of finished epoch
 * `epoch` (1-based) alone; NaN for an epoch not finished. */
DISCO_API uint32_t disco_round_epochs_done(const disco_round* round);
DISCO_API double disco_round_epoch_loss(const disco_round* round, uint32_t epoch);
DISCO_API double disco_round_epoch_accuracy(const disco_round* round, uint32_t epoch);
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
 * none; keepalive_ms > 0: once joined, Ping after that long without a server message and fail
 * (Unavailable: the connection is lost) after twice that (proto::ClientConfig::keepalive), for
 * hosts that cannot see WebSocket pings; 0 = off. NULL on error: INVALID_ARGUMENT (empty task
 * id, bad fingerprint, negative timeout). */
DISCO_API disco_client* disco_client_create(const char* task_id, const char* model_fingerprint,
                                            const char* client_id, const char* join_token,
                                            double hello_timeout_ms, double keepalive_ms);
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
 * "last_round_metrics": {"loss", "accuracy"} | null, "last_round_participants": n_participants
 * of the last RoundResult (0 before one), "last_error": {"code", "message",
 * "protocol_code": the ErrorMessage's code name ("Unauthorized", "Unavailable", ...) | null} |
 * null}. */
DISCO_API disco_buffer* disco_client_status_json(const disco_client* client);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // DISCO_WASM_CAPI_H_
