// SPDX-License-Identifier: Apache-2.0
// Store: the durable state of the federated server. It holds tasks, one row per completed round,
// and the participants, in SQLite (WAL mode), plus the global model of recent rounds as checkpoint
// files. Rule: a round's checkpoint file is written and fsynced before the round's row is
// committed, and the row is what makes a round count. A crash at any point, kill -9 included,
// leaves the newest committed round as the resume point, with its checkpoint intact.
// docs/server-storage.md describes the schema, the write order and the data directory layout.
//
// Data directory (created by open()):
//   data_dir/disco.sqlite3                                  (+ -wal and -shm beside it)
//   data_dir/checkpoints/<task_id>/round-<N>.safetensors    (the 2 newest committed rounds)
//
// Errors are Result values. Database errors name the database file and quote SQLite's message,
// and checkpoint errors name the checkpoint file. Nothing here throws or aborts on bad data,
// and a corrupt database file is an error (Corruption), never a crash.
// Not thread-safe: the server calls one Store from one thread (its strand). One server process
// per data directory; a second process is not locked out, but waits up to 5 s on a busy
// database and then gets Unavailable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"

namespace disco::server {

// The schema version this build writes. open() migrates older databases up to it and refuses
// newer ones.
inline constexpr int kSchemaVersion = 1;

// A task as the server serves it.
struct TaskRecord {
  std::string id;    // a valid task id (the rule above Store)
  std::string json;  // the full task JSON as given; stored and returned verbatim
  std::optional<std::string> join_token;  // as given; never served (see docs/server-storage.md)
  bool builtin = false;
  int64_t created_ms = 0;
};

// One completed aggregation. Rounds are numbered from 1 (proto::FederatedServer's round()).
struct RoundRecord {
  std::string task_id;
  uint64_t round = 0;                    // 1 .. INT64_MAX
  uint32_t n_contributions = 0;          // stored as given
  std::optional<double> loss, accuracy;  // NaN is stored as "none" (SQLite has no NaN)
  int64_t closed_ms = 0;
  std::vector<std::string> contributors;  // client ids; no duplicates, none empty
};

// Where a restarted server picks up a task.
struct ResumePoint {
  uint64_t completed_rounds = 0;              // the round number of the newest usable round
  std::vector<std::byte> checkpoint;          // that round's checkpoint bytes, verified
  std::vector<std::string> known_client_ids;  // every client ever seen for the task, sorted
};

struct ParticipantRecord {
  std::string client_id;
  int64_t first_seen_ms = 0, last_seen_ms = 0;
  uint64_t n_contributions = 0;  // committed rounds the client contributed to
};

// Task ids name directories, so every method taking one checks it, whatever the task schema
// already enforced: 1-128 bytes of [A-Za-z0-9._-], not starting with '.'. Anything else
// ("", "..", "a/b", NUL, ...) is InvalidArgument.
class Store {
 public:
  // Opens (creating if needed) data_dir and data_dir/disco.sqlite3: WAL journal,
  // synchronous=FULL, foreign keys on, a 5 s busy timeout; migrates the schema up to
  // kSchemaVersion.
  // Errors: Internal if the directory or database cannot be created or opened, or WAL mode is
  // refused; Corruption if the file is not a SQLite database, is damaged, or is a SQLite database
  // that is not disco's; InvalidArgument if its schema version is newer than kSchemaVersion
  // (naming the file and both versions); Unavailable if another process holds it locked too long.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& data_dir);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& data_dir() const;
  std::filesystem::path database_path() const;  // data_dir/disco.sqlite3
  // data_dir/checkpoints/<task_id>/round-<round>.safetensors (task_id must be valid).
  std::filesystem::path checkpoint_path(std::string_view task_id, uint64_t round) const;

  // --- Tasks ---

  // Inserts a new task. Errors: InvalidArgument for an invalid id or an id already stored
  // (naming it; Errc has no AlreadyExists); database errors as in open().
  Result<void> put_task(const TaskRecord& task);
  // Overwrites every field of the stored task with the same id.
  // Errors: InvalidArgument for an invalid id; NotFound if no such task; database errors.
  Result<void> replace_task(const TaskRecord& task);
  // All tasks, sorted by id.
  Result<std::vector<TaskRecord>> tasks();
  // The task with this id, or nullopt. Errors: InvalidArgument for an invalid id; database errors.
  Result<std::optional<TaskRecord>> task(std::string_view id);

  // --- Rounds ---

  // Records a completed round and its global model. `checkpoint` is opaque (the caller's
  // safetensors bytes), borrowed for the call only. Order: the file is written atomically
  // (temp file, fsync, rename, fsync directory); then one transaction inserts the round row
  // (with the checkpoint's size and CRC-32), its contributors, and adds 1 to each contributor's
  // n_contributions (a contributor not yet recorded as a participant is added with
  // first_seen_ms = last_seen_ms = closed_ms); then checkpoint files other than the 2 newest
  // committed rounds' are deleted (best effort: a failed delete is retried on the next commit
  // and never reported, because the round is already committed).
  // Errors: InvalidArgument for an invalid task id, round 0 or > INT64_MAX, a round not newer
  // than the task's newest committed round, an empty or duplicate contributor; NotFound if the
  // task is not stored; Internal if the checkpoint cannot be written (naming the file);
  // database errors. On any error the round is not committed.
  Result<void> commit_round(const RoundRecord& round, std::span<const std::byte> checkpoint);

  // The task's committed rounds, oldest first, contributors sorted. Unknown task: empty.
  // Errors: InvalidArgument for an invalid task id; database errors.
  Result<std::vector<RoundRecord>> rounds(std::string_view task_id);

  // The newest committed round whose checkpoint file exists and matches its recorded size and
  // CRC-32, or nullopt if no round qualifies (a fresh task). A checkpoint file that was written
  // but never committed is ignored. If newer committed rounds have lost or damaged checkpoints
  // (only outside damage does that; a crash cannot), the history is rolled back to the
  // returned round: those rows are deleted and their contributions subtracted from the
  // participants, so that the server's next commit_round(completed_rounds + 1) is accepted.
  // Errors: InvalidArgument for an invalid task id; Internal if a checkpoint file exists but
  // cannot be read (e.g. permissions: nothing is rolled back then); database errors.
  Result<std::optional<ResumePoint>> resume_point(std::string_view task_id);

  // --- Participants ---

  // Records that client_id was seen for the task at now_ms: inserts it with
  // first_seen_ms = last_seen_ms = now_ms, or widens the stored [first, last] seen interval.
  // Errors: InvalidArgument for an invalid task id or an empty client id; NotFound if the task
  // is not stored; database errors.
  Result<void> record_participant(std::string_view task_id, std::string_view client_id,
                                  int64_t now_ms);
  // The task's participants, sorted by client id. Unknown task: empty.
  // Errors: InvalidArgument for an invalid task id; database errors.
  Result<std::vector<ParticipantRecord>> participants(std::string_view task_id);

  struct Impl;  // the SQLite connection and its statement cache (store.cpp)

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether `id` may be used as a task id (the rule above Store).
bool is_valid_task_id(std::string_view id);

}  // namespace disco::server
