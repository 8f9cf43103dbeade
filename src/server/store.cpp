// SPDX-License-Identifier: Apache-2.0
// Store over SQLite and POSIX files. The connection and its prepared statements live in
// Store::Impl behind RAII deleters; every statement is reset when its Query goes out of scope,
// so no statement holds a read transaction open between calls. Checkpoint files go through
// write_durably (temp, fsync, rename, fsync dir) before the transaction that commits their round.
#include "server/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace disco::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDatabaseName = "disco.sqlite3";
constexpr int kBusyTimeoutMs = 5000;
constexpr std::size_t kMaxTaskIdBytes = 128;
constexpr std::size_t kKeptCheckpoints = 2;

// kMigrations[v] takes the schema from version v to v + 1 (version 0: a database without
// tables). Append only: a shipped migration is never edited. docs/server-storage.md documents
// the current schema.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE tasks (
  id              TEXT NOT NULL PRIMARY KEY,
  json            TEXT NOT NULL,
  join_token TEXT,
  builtin         INTEGER NOT NULL CHECK (builtin IN (0, 1)),
  created_ms      INTEGER NOT NULL
) STRICT;
CREATE TABLE rounds (
  task_id          TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  round            INTEGER NOT NULL CHECK (round >= 1),
  n_contributions  INTEGER NOT NULL CHECK (n_contributions >= 0),
  loss             REAL,
  accuracy         REAL,
  closed_ms        INTEGER NOT NULL,
  checkpoint_bytes INTEGER NOT NULL CHECK (checkpoint_bytes >= 0),
  checkpoint_crc32 INTEGER NOT NULL,
  PRIMARY KEY (task_id, round)
) STRICT, WITHOUT ROWID;
CREATE TABLE round_contributors (
  task_id   TEXT NOT NULL,
  round     INTEGER NOT NULL,
  client_id TEXT NOT NULL,
  PRIMARY KEY (task_id, round, client_id),
  FOREIGN KEY (task_id, round) REFERENCES rounds (task_id, round) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE TABLE participants (
  task_id         TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  client_id       TEXT NOT NULL,
  first_seen_ms   INTEGER NOT NULL,
  last_seen_ms    INTEGER NOT NULL,
  n_contributions INTEGER NOT NULL CHECK (n_contributions >= 0),
  PRIMARY KEY (task_id, client_id)
) STRICT, WITHOUT ROWID;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

// --- RAII for SQLite handles and file descriptors ---

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close()'s result (it can carry a delayed write error).
  bool close() { return ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_;
};

Errc errc_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Errc::Corruption;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Errc::Unavailable;
    case SQLITE_CONSTRAINT:
      return Errc::InvalidArgument;
    default:
      return Errc::Internal;
  }
}

// --- Files ---

Error file_error(const fs::path& path, std::string_view what, int err) {
  return make_error(Errc::Internal,
                    path.string() + ": " + std::string(what) + ": " + std::strerror(err));
}

Result<void> fsync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return file_error(dir, "open directory", errno);
  if (::fsync(fd.get()) != 0) return file_error(dir, "fsync directory", errno);
  return {};
}

fs::path parent_or_dot(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

// Creates dir (and missing parents); each newly created entry is made durable by fsyncing its
// parent, so a committed round never points into a directory a power loss could undo.
Result<void> ensure_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  const fs::path parent = parent_or_dot(dir);
  if (dir.has_parent_path() && dir.parent_path() != dir) DISCO_TRY(ensure_dir(parent));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return file_error(dir, "create directory", errno);
  if (!fs::is_directory(dir, ec)) return file_error(dir, "not a directory", ENOTDIR);
  return fsync_dir(parent);
}

// Writes bytes to path so that path holds either its old content or all of `bytes`, durably:
// "<path>.tmp", write, fsync, close, rename over path, fsync the directory.
Result<void> write_durably(const fs::path& path, std::span<const std::byte> bytes) {
  fs::path tmp = path;
  tmp += ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return file_error(tmp, "create", errno);
  auto fail = [&](std::string_view what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return file_error(tmp, what, err);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync");
  if (!fd.close()) return fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  return fsync_dir(parent_or_dot(path));
}

// The whole file, or nullopt if it does not exist.
Result<std::optional<std::vector<std::byte>>> read_if_exists(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::vector<std::byte>>();
    return file_error(path, "open", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return file_error(path, "stat", errno);
  std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return file_error(path, "read", errno);
    }
    if (n == 0) break;  // shrank since fstat
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return std::optional<std::vector<std::byte>>(std::move(bytes));
}

uint32_t crc32_of(std::span<const std::byte> bytes) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string checkpoint_name(uint64_t round) {
  return "round-" + std::to_string(round) + ".safetensors";
}

Error invalid_task_id(std::string_view id) {
  std::string shown;
  for (const char c : id.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  return make_error(
      Errc::InvalidArgument,
      "invalid task id '" + shown + "': must be 1-128 of [A-Za-z0-9._-] and not start with '.'");
}

Result<void> check_task_id(std::string_view id) {
  if (!is_valid_task_id(id)) return invalid_task_id(id);
  return {};
}

}  // namespace

bool is_valid_task_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxTaskIdBytes || id[0] == '.') return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// --- Connection, statement cache, queries ---

class Query;

struct Store::Impl {
  fs::path data_dir;
  std::string db_path;
  DbPtr db;  // declared before `statements`, so statements are finalized first
  // Keyed by the SQL text, which is always a string literal (lives for the program).
  std::unordered_map<std::string_view, StmtPtr> statements;

  Error error(int rc, std::string_view what) const {
    const char* msg = db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc);
    return make_error(errc_of(rc), db_path + ": " + std::string(what) + ": " + msg);
  }
  Result<Query> query(const char* sql, const char* what);
  // Runs a statement returning no rows.
  Result<void> run(const char* sql, const char* what);
  // Runs a script of statements (migrations), uncached.
  Result<void> exec_script(const char* sql, const char* what) {
    const int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return error(rc, what);
    return {};
  }
};

// One use of a cached statement: bind, step, read columns. Resets the statement and clears its
// bindings when destroyed. Must not outlive the Impl it came from.
class Query {
 public:
  Query(const Store::Impl* impl, sqlite3_stmt* stmt, const char* what)
      : impl_(impl), stmt_(stmt), what_(what) {}
  Query(Query&& other) noexcept
      : impl_(other.impl_),
        stmt_(std::exchange(other.stmt_, nullptr)),
        what_(other.what_),
        bind_rc_(other.bind_rc_) {}
  Query& operator=(Query&&) = delete;
  ~Query() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  Query& bind_int(int i, int64_t v) { return note(sqlite3_bind_int64(stmt_, i, v)); }
  Query& bind_text(int i, std::string_view v) {
    // A null data() would bind SQL NULL, not ''.
    const char* data = v.data() != nullptr ? v.data() : "";
    return note(sqlite3_bind_text64(stmt_, i, data, v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Query& bind_optional_text(int i, const std::optional<std::string>& v) {
    return v ? bind_text(i, *v) : note(sqlite3_bind_null(stmt_, i));
  }
  Query& bind_real(int i, std::optional<double> v) {
    if (!v || std::isnan(*v)) return note(sqlite3_bind_null(stmt_, i));
    return note(sqlite3_bind_double(stmt_, i, *v));
  }

  // true: a row is ready; false: done.
  Result<bool> step() {
    if (bind_rc_ != SQLITE_OK) return impl_->error(bind_rc_, what_);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return impl_->error(rc, what_);
  }
  // Steps through every row, calling on_row() while each is current.
  template <typename F>
  Result<void> each_row(F&& on_row) {
    while (true) {
      DISCO_ASSIGN_OR_RETURN(row, step());
      if (!row) return {};
      on_row();
    }
  }
  int primary_rc_of_last_step() const { return sqlite3_errcode(sqlite3_db_handle(stmt_)) & 0xff; }

  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (p == nullptr) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::optional<std::string> optional_text(int col) const {
    if (is_null(col)) return std::nullopt;
    return text(col);
  }
  std::optional<double> optional_real(int col) const {
    if (is_null(col)) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }

 private:
  Query& note(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }

  const Store::Impl* impl_;
  sqlite3_stmt* stmt_;  // owned by impl_->statements
  const char* what_;
  int bind_rc_ = SQLITE_OK;
};

Result<Query> Store::Impl::query(const char* sql, const char* what) {
  auto it = statements.find(sql);
  if (it == statements.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return error(rc, what);
    it = statements.emplace(sql, std::move(stmt)).first;
  }
  return Query(this, it->second.get(), what);
}

Result<void> Store::Impl::run(const char* sql, const char* what) {
  DISCO_ASSIGN_OR_RETURN(q, query(sql, what));
  DISCO_TRY(q.step());
  return {};
}

namespace {

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted.
class Transaction {
 public:
  static Result<Transaction> begin(Store::Impl& impl) {
    DISCO_TRY(impl.run("BEGIN IMMEDIATE", "begin transaction"));
    return Transaction(&impl);
  }
  Transaction(Transaction&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (impl_ != nullptr && !sqlite3_get_autocommit(impl_->db.get())) {
      auto ignored = impl_->run("ROLLBACK", "roll back");
      (void)ignored;
    }
  }
  Result<void> commit() {
    DISCO_TRY(impl_->run("COMMIT", "commit"));
    impl_ = nullptr;
    return {};
  }

 private:
  explicit Transaction(Store::Impl* impl) : impl_(impl) {}
  Store::Impl* impl_;
};

Result<bool> task_exists(Store::Impl& impl, std::string_view id) {
  DISCO_ASSIGN_OR_RETURN(q, impl.query("SELECT 1 FROM tasks WHERE id = ?1", "look up task"));
  q.bind_text(1, id);
  return q.step();
}

// The task's committed rounds, newest first.
Result<std::vector<int64_t>> committed_rounds_desc(Store::Impl& impl, std::string_view task_id,
                                                   int64_t limit) {
  DISCO_ASSIGN_OR_RETURN(
      q, impl.query("SELECT round FROM rounds WHERE task_id = ?1 ORDER BY round DESC LIMIT ?2",
                    "list rounds"));
  q.bind_text(1, task_id).bind_int(2, limit);
  std::vector<int64_t> out;
  DISCO_TRY(q.each_row([&] { out.push_back(q.int64(0)); }));
  return out;
}

// Brings a database to kSchemaVersion inside one transaction. Errors as Store::open.
Result<void> migrate(Store::Impl& impl) {
  DISCO_ASSIGN_OR_RETURN(tx, Transaction::begin(impl));
  int64_t version = 0;
  {
    DISCO_ASSIGN_OR_RETURN(
        q, impl.query("SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                      "name = 'schema_version'), (SELECT count(*) FROM sqlite_schema)",
                      "read schema"));
    DISCO_TRY(q.step());
    const bool has_version_table = q.int64(0) != 0;
    const bool is_empty = q.int64(1) == 0;
    if (!has_version_table && !is_empty)
      return make_error(Errc::Corruption,
                        impl.db_path + ": not a disco database (no schema_version table)");
    if (is_empty) version = -1;
  }
  if (version < 0) {
    DISCO_TRY(impl.exec_script(
        "CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "version INTEGER NOT NULL) STRICT; INSERT INTO schema_version VALUES (1, 0);",
        "create schema_version"));
    version = 0;
  } else {
    DISCO_ASSIGN_OR_RETURN(
        q, impl.query("SELECT version FROM schema_version WHERE id = 1", "read schema version"));
    DISCO_ASSIGN_OR_RETURN(row, q.step());
    if (!row || q.is_null(0))
      return make_error(Errc::Corruption, impl.db_path + ": schema_version table has no version");
    version = q.int64(0);
  }
  if (version > kSchemaVersion)
    return make_error(Errc::InvalidArgument,
                      impl.db_path + ": database schema version " + std::to_string(version) +
                          " is newer than this server supports (" + std::to_string(kSchemaVersion) +
                          "); run a newer disco-server");
  if (version < 0)
    return make_error(Errc::Corruption,
                      impl.db_path + ": bad schema version " + std::to_string(version));
  if (version == kSchemaVersion) return {};  // the transaction rolls back: nothing changed
  for (int64_t v = version; v < kSchemaVersion; ++v)
    DISCO_TRY(impl.exec_script(kMigrations[v], "migrate schema"));
  {
    DISCO_ASSIGN_OR_RETURN(q, impl.query("UPDATE schema_version SET version = ?1 WHERE id = 1",
                                         "write schema version"));
    q.bind_int(1, kSchemaVersion);
    DISCO_TRY(q.step());
  }
  return tx.commit();
}

// Runs a PRAGMA that returns one row and checks its first column (case-insensitively); a
// mismatch is a `mismatch` error.
Result<void> pragma_expect(Store::Impl& impl, const char* sql, const char* what,
                           std::string_view expected, Errc mismatch) {
  DISCO_ASSIGN_OR_RETURN(q, impl.query(sql, what));
  DISCO_ASSIGN_OR_RETURN(row, q.step());
  std::string got = row ? q.text(0) : std::string();
  for (char& c : got) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (got != expected) return make_error(mismatch, impl.db_path + ": " + what + ": " + got);
  return {};
}

}  // namespace

// --- Store ---

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const fs::path& data_dir) {
  DISCO_TRY(ensure_dir(data_dir));
  auto impl = std::make_unique<Impl>();
  impl->data_dir = data_dir;
  impl->db_path = (data_dir / kDatabaseName).string();
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(impl->db_path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  impl->db.reset(raw);  // owned even when opening failed
  if (rc != SQLITE_OK) return impl->error(rc, "open");
  sqlite3_busy_timeout(impl->db.get(), kBusyTimeoutMs);
  // The first statement reads the header: a file that is not a database fails here.
  DISCO_TRY(pragma_expect(*impl, "PRAGMA journal_mode = WAL", "set WAL journal mode", "wal",
                          Errc::Internal));
  DISCO_TRY(impl->run("PRAGMA synchronous = FULL", "set synchronous"));
  DISCO_TRY(impl->run("PRAGMA foreign_keys = ON", "enable foreign keys"));
  DISCO_TRY(pragma_expect(*impl, "PRAGMA quick_check", "integrity check", "ok", Errc::Corruption));
  DISCO_TRY(migrate(*impl));
  // One-off statements need not stay prepared.
  impl->statements.clear();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const fs::path& Store::data_dir() const { return impl_->data_dir; }

fs::path Store::database_path() const { return impl_->db_path; }

fs::path Store::checkpoint_path(std::string_view task_id, uint64_t round) const {
  return impl_->data_dir / "checkpoints" / std::string(task_id) / checkpoint_name(round);
}

// --- Tasks ---

Result<void> Store::put_task(const TaskRecord& task) {
  DISCO_TRY(check_task_id(task.id));
  DISCO_ASSIGN_OR_RETURN(
      q, impl_->query("INSERT INTO tasks (id, json, join_token, builtin, created_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
                      "insert task"));
  q.bind_text(1, task.id)
      .bind_text(2, task.json)
      .bind_optional_text(3, task.join_token)
      .bind_int(4, task.builtin ? 1 : 0)
      .bind_int(5, task.created_ms);
  auto done = q.step();
  if (!done && q.primary_rc_of_last_step() == SQLITE_CONSTRAINT)
    return make_error(Errc::InvalidArgument,
                      impl_->db_path + ": task '" + task.id + "' already exists");
  if (!done) return done.error();
  return {};
}

Result<void> Store::replace_task(const TaskRecord& task) {
  DISCO_TRY(check_task_id(task.id));
  DISCO_ASSIGN_OR_RETURN(q,
                         impl_->query("UPDATE tasks SET json = ?2, join_token = ?3, builtin = ?4, "
                                      "created_ms = ?5 WHERE id = ?1",
                                      "replace task"));
  q.bind_text(1, task.id)
      .bind_text(2, task.json)
      .bind_optional_text(3, task.join_token)
      .bind_int(4, task.builtin ? 1 : 0)
      .bind_int(5, task.created_ms);
  DISCO_TRY(q.step());
  if (sqlite3_changes(impl_->db.get()) == 0)
    return make_error(Errc::NotFound, impl_->db_path + ": no task '" + task.id + "'");
  return {};
}

namespace {

TaskRecord task_from_row(const Query& q) {
  return TaskRecord{.id = q.text(0),
                    .json = q.text(1),
                    .join_token = q.optional_text(2),
                    .builtin = q.int64(3) != 0,
                    .created_ms = q.int64(4)};
}

}  // namespace

Result<std::vector<TaskRecord>> Store::tasks() {
  DISCO_ASSIGN_OR_RETURN(q,
                         impl_->query("SELECT id, json, join_token, builtin, created_ms FROM tasks "
                                      "ORDER BY id",
                                      "list tasks"));
  std::vector<TaskRecord> out;
  DISCO_TRY(q.each_row([&] { out.push_back(task_from_row(q)); }));
  return out;
}

Result<std::optional<TaskRecord>> Store::task(std::string_view id) {
  DISCO_TRY(check_task_id(id));
  DISCO_ASSIGN_OR_RETURN(q,
                         impl_->query("SELECT id, json, join_token, builtin, created_ms FROM tasks "
                                      "WHERE id = ?1",
                                      "read task"));
  q.bind_text(1, id);
  DISCO_ASSIGN_OR_RETURN(row, q.step());
  if (!row) return std::optional<TaskRecord>();
  return std::optional<TaskRecord>(task_from_row(q));
}

// --- Rounds ---

Result<void> Store::commit_round(const RoundRecord& round, std::span<const std::byte> checkpoint) {
  DISCO_TRY(check_task_id(round.task_id));
  const std::string& task_id = round.task_id;
  constexpr auto kMaxRound = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (round.round == 0 || round.round > kMaxRound)
    return make_error(Errc::InvalidArgument, "task '" + task_id + "': invalid round number " +
                                                 std::to_string(round.round));
  std::set<std::string_view> seen;
  for (const std::string& c : round.contributors) {
    if (c.empty())
      return make_error(
          Errc::InvalidArgument,
          "task '" + task_id + "' round " + std::to_string(round.round) + ": empty contributor id");
    if (!seen.insert(c).second)
      return make_error(Errc::InvalidArgument, "task '" + task_id + "' round " +
                                                   std::to_string(round.round) +
                                                   ": duplicate contributor '" + c + "'");
  }
  DISCO_ASSIGN_OR_RETURN(exists, task_exists(*impl_, task_id));
  if (!exists) return make_error(Errc::NotFound, impl_->db_path + ": no task '" + task_id + "'");
  DISCO_ASSIGN_OR_RETURN(newest, committed_rounds_desc(*impl_, task_id, 1));
  const auto n = static_cast<int64_t>(round.round);
  if (!newest.empty() && n <= newest[0])
    return make_error(Errc::InvalidArgument, impl_->db_path + ": task '" + task_id + "': round " +
                                                 std::to_string(n) +
                                                 " is not newer than the newest committed round " +
                                                 std::to_string(newest[0]));

  // 1. The checkpoint, durably, before anything refers to it.
  const fs::path dir = impl_->data_dir / "checkpoints" / task_id;
  DISCO_TRY(ensure_dir(dir));
  DISCO_TRY(write_durably(dir / checkpoint_name(round.round), checkpoint));

  // 2. The round, atomically. Until COMMIT the file above is an ignored orphan.
  {
    DISCO_ASSIGN_OR_RETURN(tx, Transaction::begin(*impl_));
    {
      DISCO_ASSIGN_OR_RETURN(
          q, impl_->query("INSERT INTO rounds (task_id, round, n_contributions, loss, accuracy, "
                          "closed_ms, checkpoint_bytes, checkpoint_crc32) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                          "insert round"));
      q.bind_text(1, task_id)
          .bind_int(2, n)
          .bind_int(3, round.n_contributions)
          .bind_real(4, round.loss)
          .bind_real(5, round.accuracy)
          .bind_int(6, round.closed_ms)
          .bind_int(7, static_cast<int64_t>(checkpoint.size()))
          .bind_int(8, crc32_of(checkpoint));
      DISCO_TRY(q.step());
    }
    for (const std::string& client : round.contributors) {
      {
        DISCO_ASSIGN_OR_RETURN(
            q, impl_->query("INSERT INTO round_contributors (task_id, round, client_id) "
                            "VALUES (?1, ?2, ?3)",
                            "insert contributor"));
        q.bind_text(1, task_id).bind_int(2, n).bind_text(3, client);
        DISCO_TRY(q.step());
      }
      DISCO_ASSIGN_OR_RETURN(
          q, impl_->query("INSERT INTO participants (task_id, client_id, first_seen_ms, "
                          "last_seen_ms, n_contributions) VALUES (?1, ?2, ?3, ?3, 1) "
                          "ON CONFLICT (task_id, client_id) DO UPDATE SET "
                          "n_contributions = n_contributions + 1",
                          "count contribution"));
      q.bind_text(1, task_id).bind_text(2, client).bind_int(3, round.closed_ms);
      DISCO_TRY(q.step());
    }
    DISCO_TRY(tx.commit());
  }

  // 3. Retention, best effort: the round is committed whatever happens here. Only files of the
  // kKeptCheckpoints newest committed rounds survive (older ones, orphans, temp files).
  auto keep_rounds = committed_rounds_desc(*impl_, task_id, kKeptCheckpoints);
  if (!keep_rounds) return {};
  std::set<std::string> keep;
  for (const int64_t r : *keep_rounds) keep.insert(checkpoint_name(static_cast<uint64_t>(r)));
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("round-", 0) == 0 && keep.count(name) == 0) doomed.push_back(it->path());
  }
  for (const fs::path& p : doomed) fs::remove(p, ec);
  return {};
}

Result<std::vector<RoundRecord>> Store::rounds(std::string_view task_id) {
  DISCO_TRY(check_task_id(task_id));
  std::vector<RoundRecord> out;
  {
    DISCO_ASSIGN_OR_RETURN(
        q, impl_->query("SELECT round, n_contributions, loss, accuracy, closed_ms FROM rounds "
                        "WHERE task_id = ?1 ORDER BY round",
                        "list rounds"));
    q.bind_text(1, task_id);
    DISCO_TRY(q.each_row([&] {
      out.push_back(RoundRecord{.task_id = std::string(task_id),
                                .round = static_cast<uint64_t>(q.int64(0)),
                                .n_contributions = static_cast<uint32_t>(q.int64(1)),
                                .loss = q.optional_real(2),
                                .accuracy = q.optional_real(3),
                                .closed_ms = q.int64(4),
                                .contributors = {}});
    }));
  }
  DISCO_ASSIGN_OR_RETURN(
      q, impl_->query("SELECT round, client_id FROM round_contributors WHERE task_id = ?1 "
                      "ORDER BY round, client_id",
                      "list contributors"));
  q.bind_text(1, task_id);
  std::size_t i = 0;  // both lists are sorted by round
  DISCO_TRY(q.each_row([&] {
    const auto r = static_cast<uint64_t>(q.int64(0));
    while (i < out.size() && out[i].round < r) ++i;
    if (i < out.size() && out[i].round == r) out[i].contributors.push_back(q.text(1));
  }));
  return out;
}

Result<std::optional<ResumePoint>> Store::resume_point(std::string_view task_id) {
  DISCO_TRY(check_task_id(task_id));
  struct Committed {
    int64_t round, bytes, crc32;
  };
  std::vector<Committed> committed;  // newest first
  {
    DISCO_ASSIGN_OR_RETURN(
        q, impl_->query("SELECT round, checkpoint_bytes, checkpoint_crc32 FROM rounds "
                        "WHERE task_id = ?1 ORDER BY round DESC",
                        "list checkpoints"));
    q.bind_text(1, task_id);
    DISCO_TRY(q.each_row([&] { committed.push_back({q.int64(0), q.int64(1), q.int64(2)}); }));
  }
  std::optional<ResumePoint> point;
  for (const Committed& c : committed) {
    DISCO_ASSIGN_OR_RETURN(
        bytes, read_if_exists(checkpoint_path(task_id, static_cast<uint64_t>(c.round))));
    if (!bytes || static_cast<int64_t>(bytes->size()) != c.bytes || crc32_of(*bytes) != c.crc32)
      continue;  // lost or damaged: fall back to an older round
    point = ResumePoint{.completed_rounds = static_cast<uint64_t>(c.round),
                        .checkpoint = std::move(*bytes),
                        .known_client_ids = {}};
    break;
  }
  const int64_t resume_round = point ? static_cast<int64_t>(point->completed_rounds) : 0;
  if (!committed.empty() && committed.front().round > resume_round) {
    // Roll the history back to the resume point so the next round number is accepted.
    // Contributions are subtracted first; deleting the rounds cascades to their contributors.
    constexpr const char* kRollBack[] = {
        "UPDATE participants SET n_contributions = n_contributions - "
        "(SELECT count(*) FROM round_contributors AS rc WHERE rc.task_id = participants.task_id "
        "AND rc.client_id = participants.client_id AND rc.round > ?2) WHERE task_id = ?1",
        "DELETE FROM rounds WHERE task_id = ?1 AND round > ?2"};
    DISCO_ASSIGN_OR_RETURN(tx, Transaction::begin(*impl_));
    for (const char* sql : kRollBack) {
      DISCO_ASSIGN_OR_RETURN(q, impl_->query(sql, "roll back rounds"));
      q.bind_text(1, task_id).bind_int(2, resume_round);
      DISCO_TRY(q.step());
    }
    DISCO_TRY(tx.commit());
  }
  if (!point) return point;
  DISCO_ASSIGN_OR_RETURN(
      q, impl_->query("SELECT client_id FROM participants WHERE task_id = ?1 ORDER BY client_id",
                      "list client ids"));
  q.bind_text(1, task_id);
  DISCO_TRY(q.each_row([&] { point->known_client_ids.push_back(q.text(0)); }));
  return point;
}

// --- Participants ---

Result<void> Store::record_participant(std::string_view task_id, std::string_view client_id,
                                       int64_t now_ms) {
  DISCO_TRY(check_task_id(task_id));
  if (client_id.empty())
    return make_error(Errc::InvalidArgument,
                      "task '" + std::string(task_id) + "': empty client id");
  DISCO_ASSIGN_OR_RETURN(exists, task_exists(*impl_, task_id));
  if (!exists)
    return make_error(Errc::NotFound, impl_->db_path + ": no task '" + std::string(task_id) + "'");
  DISCO_ASSIGN_OR_RETURN(
      q, impl_->query("INSERT INTO participants (task_id, client_id, first_seen_ms, "
                      "last_seen_ms, n_contributions) VALUES (?1, ?2, ?3, ?3, 0) "
                      "ON CONFLICT (task_id, client_id) DO UPDATE SET "
                      "first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), "
                      "last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
                      "record participant"));
  q.bind_text(1, task_id).bind_text(2, client_id).bind_int(3, now_ms);
  DISCO_TRY(q.step());
  return {};
}

Result<std::vector<ParticipantRecord>> Store::participants(std::string_view task_id) {
  DISCO_TRY(check_task_id(task_id));
  DISCO_ASSIGN_OR_RETURN(
      q, impl_->query("SELECT client_id, first_seen_ms, last_seen_ms, n_contributions "
                      "FROM participants WHERE task_id = ?1 ORDER BY client_id",
                      "list participants"));
  q.bind_text(1, task_id);
  std::vector<ParticipantRecord> out;
  DISCO_TRY(q.each_row([&] {
    out.push_back(ParticipantRecord{.client_id = q.text(0),
                                    .first_seen_ms = q.int64(1),
                                    .last_seen_ms = q.int64(2),
                                    .n_contributions = static_cast<uint64_t>(q.int64(3))});
  }));
  return out;
}

}  // namespace disco::server
