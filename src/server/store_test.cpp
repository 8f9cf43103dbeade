// SPDX-License-Identifier: Apache-2.0
// Tests of the server's durable state, each in a fresh directory under GoogleTest's temp dir:
// schema creation and reopen, tasks, rounds and the resume point, checkpoint retention, orphan
// and damaged checkpoints, participants, refusals (bad task ids, corrupt, foreign or newer
// databases), and crash safety: a forked child committing rounds is SIGKILLed at varying points
// and the parent checks that the resume point is a fully committed round with intact bytes.
#include "server/store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

namespace disco::server {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> checkpoint_for(uint64_t round) {
  std::vector<std::byte> bytes(100'000 + round * 997);
  uint64_t x = round * 0x9e3779b97f4a7c15ull;
  for (std::byte& b : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
  return bytes;
}

TaskRecord make_task(std::string id) {
  TaskRecord t;
  t.json = R"({"id":")" + id + R"("})";
  t.id = std::move(id);
  t.created_ms = 1000;
  return t;
}

RoundRecord make_round(std::string task_id, uint64_t round,
                       std::vector<std::string> contributors = {"c1", "c2"}) {
  RoundRecord r;
  r.task_id = std::move(task_id);
  r.round = round;
  r.n_contributions = static_cast<uint32_t>(contributors.size());
  r.loss = 1.0 / static_cast<double>(round);
  r.accuracy = 0.5;
  r.closed_ms = 10'000 + static_cast<int64_t>(round);
  r.contributors = std::move(contributors);
  return r;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void write_raw(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

// Runs SQL on a database file directly, bypassing Store. Returns the first column of the last
// row, if any.
std::string sql(const fs::path& db_path, const std::string& statement) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  std::string last;
  char* err = nullptr;
  const int rc = sqlite3_exec(
      db, statement.c_str(),
      [](void* out, int n, char** values, char**) {
        if (n > 0 && values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
        return 0;
      },
      &last, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
  return last;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("disco_store_test_" + std::to_string(::getpid()) + "_" + info->name());
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::create_directories(dir_, ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> open_store(const fs::path& data_dir) {
    auto store = Store::open(data_dir);
    EXPECT_TRUE(store.has_value()) << store.error().to_string();
    return store ? std::move(*store) : nullptr;
  }

  fs::path dir_;
};

TEST_F(StoreTest, CreatesSchemaInWalModeAndReopens) {
  const fs::path data = dir_ / "data" / "nested";
  {
    auto store = open_store(data);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->database_path(), data / "disco.sqlite3");
    EXPECT_EQ(store->checkpoint_path("t", 3), data / "checkpoints" / "t" / "round-3.safetensors");
    ASSERT_TRUE(store->put_task(make_task("t")));
  }
  const fs::path db = data / "disco.sqlite3";
  ASSERT_TRUE(fs::exists(db));
  EXPECT_EQ(sql(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(sql(db, "SELECT version FROM schema_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(sql(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"), "5");
  auto store = open_store(data);  // reopening migrates nothing and keeps the data
  ASSERT_TRUE(store);
  auto task = store->task("t");
  ASSERT_TRUE(task);
  ASSERT_TRUE(task->has_value());
  EXPECT_EQ((*task)->json, R"({"id":"t"})");
  EXPECT_EQ(sql(db, "SELECT version FROM schema_version"), std::to_string(kSchemaVersion));
}

TEST_F(StoreTest, TasksCrudAndDuplicate) {
  auto store = open_store(dir_);
  ASSERT_TRUE(store);
  TaskRecord b = make_task("b-task");
  b.join_token = "sha256:abcd";
  b.builtin = true;
  b.created_ms = -5;
  ASSERT_TRUE(store->put_task(b));
  ASSERT_TRUE(store->put_task(make_task("a_task")));

  auto dup = store->put_task(make_task("b-task"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::InvalidArgument);
  EXPECT_NE(dup.error().message.find("'b-task' already exists"), std::string::npos);

  auto all = store->tasks();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "a_task");
  EXPECT_FALSE((*all)[0].join_token.has_value());
  EXPECT_FALSE((*all)[0].builtin);
  EXPECT_EQ((*all)[1].id, "b-task");
  EXPECT_EQ((*all)[1].join_token, "sha256:abcd");
  EXPECT_TRUE((*all)[1].builtin);
  EXPECT_EQ((*all)[1].created_ms, -5);

  TaskRecord replaced = make_task("b-task");
  replaced.json = "{}";
  ASSERT_TRUE(store->replace_task(replaced));
  auto got = store->task("b-task");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->json, "{}");
  EXPECT_FALSE((*got)->join_token.has_value());
  EXPECT_FALSE((*got)->builtin);

  auto missing = store->replace_task(make_task("nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
  auto none = store->task("nope");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(StoreTest, InvalidTaskIdsAreRejectedEverywhere) {
  auto store = open_store(dir_);
  ASSERT_TRUE(store);
  const std::vector<std::string> bad = {"",
                                        ".",
                                        "..",
                                        "../x",
                                        "a/b",
                                        "/abs",
                                        std::string("a\0b", 3),
                                        "a b",
                                        "a\\b",
                                        ".hidden",
                                        std::string(129, 'x')};
  for (const std::string& id : bad) {
    SCOPED_TRACE(id);
    EXPECT_FALSE(is_valid_task_id(id));
    auto put = store->put_task(make_task(id));
    ASSERT_FALSE(put);
    EXPECT_EQ(put.error().code, Errc::InvalidArgument);
    auto commit = store->commit_round(make_round(id, 1), checkpoint_for(1));
    ASSERT_FALSE(commit);
    EXPECT_EQ(commit.error().code, Errc::InvalidArgument);
    EXPECT_FALSE(store->resume_point(id));
    EXPECT_FALSE(store->rounds(id));
    EXPECT_FALSE(store->participants(id));
    EXPECT_FALSE(store->record_participant(id, "c1", 1));
  }
  EXPECT_TRUE(is_valid_task_id("fashion-mnist_v2.1"));
  EXPECT_TRUE(is_valid_task_id(std::string(128, 'x')));
  EXPECT_EQ(files_in(dir_),
            (std::vector<std::string>{"disco.sqlite3", "disco.sqlite3-shm", "disco.sqlite3-wal"}));
}

TEST_F(StoreTest, RoundsAndResumePoint) {
  auto store = open_store(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_task(make_task("t")));
  auto fresh = store->resume_point("t");
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->has_value());

  ASSERT_TRUE(store->commit_round(make_round("t", 1, {"c2", "c1"}), checkpoint_for(1)));
  RoundRecord second = make_round("t", 2, {"c3"});
  second.loss = std::nan("");
  second.accuracy.reset();
  ASSERT_TRUE(store->commit_round(second, checkpoint_for(2)));

  auto rounds = store->rounds("t");
  ASSERT_TRUE(rounds);
  ASSERT_EQ(rounds->size(), 2u);
  EXPECT_EQ((*rounds)[0].task_id, "t");
  EXPECT_EQ((*rounds)[0].round, 1u);
  EXPECT_EQ((*rounds)[0].n_contributions, 2u);
  EXPECT_EQ((*rounds)[0].loss, 1.0);
  EXPECT_EQ((*rounds)[0].accuracy, 0.5);
  EXPECT_EQ((*rounds)[0].closed_ms, 10'001);
  EXPECT_EQ((*rounds)[0].contributors, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_FALSE((*rounds)[1].loss.has_value());  // NaN is stored as none
  EXPECT_FALSE((*rounds)[1].accuracy.has_value());
  EXPECT_EQ((*rounds)[1].contributors, (std::vector<std::string>{"c3"}));

  ASSERT_TRUE(store->record_participant("t", "c9", 5));
  auto point = store->resume_point("t");
  ASSERT_TRUE(point);
  ASSERT_TRUE(point->has_value());
  EXPECT_EQ((*point)->completed_rounds, 2u);
  EXPECT_EQ((*point)->checkpoint, checkpoint_for(2));
  EXPECT_EQ((*point)->known_client_ids, (std::vector<std::string>{"c1", "c2", "c3", "c9"}));

  // Refusals leave no trace.
  for (const uint64_t r : {uint64_t{0}, uint64_t{1}, uint64_t{2}, ~uint64_t{0}}) {
    auto again = store->commit_round(make_round("t", r), checkpoint_for(9));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::InvalidArgument) << again.error().message;
  }
  auto dup = store->commit_round(make_round("t", 3, {"c1", "c1"}), checkpoint_for(3));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::InvalidArgument);
  auto empty = store->commit_round(make_round("t", 3, {""}), checkpoint_for(3));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::InvalidArgument);
  auto unknown = store->commit_round(make_round("other", 1), checkpoint_for(1));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::NotFound);
  EXPECT_FALSE(fs::exists(dir_ / "checkpoints" / "other"));
  rounds = store->rounds("t");
  ASSERT_TRUE(rounds);
  EXPECT_EQ(rounds->size(), 2u);
  point = store->resume_point("t");
  ASSERT_TRUE(point && point->has_value());
  EXPECT_EQ((*point)->checkpoint, checkpoint_for(2));

  // An empty checkpoint is a valid (if odd) checkpoint.
  ASSERT_TRUE(store->commit_round(make_round("t", 7, {}), {}));
  point = store->resume_point("t");
  ASSERT_TRUE(point && point->has_value());
  EXPECT_EQ((*point)->completed_rounds, 7u);
  EXPECT_TRUE((*point)->checkpoint.empty());
}

TEST_F(StoreTest, KeepsOnlyTheNewestTwoCheckpoints) {
  auto store = open_store(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_task(make_task("t")));
  ASSERT_TRUE(store->put_task(make_task("u")));
  for (uint64_t r = 1; r <= 5; ++r) {
    ASSERT_TRUE(store->commit_round(make_round("t", r), checkpoint_for(r)));
    if (r <= 3) {
      ASSERT_TRUE(store->commit_round(make_round("u", r), checkpoint_for(r)));
    }
  }
  EXPECT_EQ(files_in(dir_ / "checkpoints" / "t"),
            (std::vector<std::string>{"round-4.safetensors", "round-5.safetensors"}));
  EXPECT_EQ(files_in(dir_ / "checkpoints" / "u"),
            (std::vector<std::string>{"round-2.safetensors", "round-3.safetensors"}));
  auto rounds = store->rounds("t");
  ASSERT_TRUE(rounds);
  EXPECT_EQ(rounds->size(), 5u);  // the history stays; only files are pruned
}

TEST_F(StoreTest, UncommittedCheckpointFileIsIgnored) {
  auto store = open_store(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_task(make_task("t")));
  ASSERT_TRUE(store->commit_round(make_round("t", 1), checkpoint_for(1)));
  ASSERT_TRUE(store->commit_round(make_round("t", 2), checkpoint_for(2)));
  // What a crash between writing round 3's file and committing it leaves behind.
  const fs::path dir = dir_ / "checkpoints" / "t";
  write_raw(dir / "round-3.safetensors", "written, never committed");
  write_raw(dir / "round-4.safetensors.tmp", "half");

  auto point = store->resume_point("t");
  ASSERT_TRUE(point && point->has_value());
  EXPECT_EQ((*point)->completed_rounds, 2u);
  EXPECT_EQ((*point)->checkpoint, checkpoint_for(2));
  auto rounds = store->rounds("t");
  ASSERT_TRUE(rounds);
  EXPECT_EQ(rounds->size(), 2u);

  ASSERT_TRUE(store->commit_round(make_round("t", 3), checkpoint_for(3)));
  point = store->resume_point("t");
  ASSERT_TRUE(point && point->has_value());
  EXPECT_EQ((*point)->completed_rounds, 3u);
  EXPECT_EQ((*point)->checkpoint, checkpoint_for(3));
  EXPECT_EQ(files_in(dir),
            (std::vector<std::string>{"round-2.safetensors", "round-3.safetensors"}));
}

TEST_F(StoreTest, DamagedNewestCheckpointRollsBackToThePreviousRound) {
  auto store = open_store(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_task(make_task("t")));
  ASSERT_TRUE(store->commit_round(make_round("t", 1, {"c1"}), checkpoint_for(1)));
  ASSERT_TRUE(store->commit_round(make_round("t", 2, {"c1", "c2"}), checkpoint_for(2)));
  std::vector<std::byte> damaged = checkpoint_for(2);
  damaged[damaged.size() / 2] ^= std::byte{1};
  write_raw(store->checkpoint_path("t", 2),
            std::string_view(reinterpret_cast<const char*>(damaged.data()), damaged.size()));

  auto point = store->resume_point("t");
  ASSERT_TRUE(point && point->has_value());
  EXPECT_EQ((*point)->completed_rounds, 1u);
  EXPECT_EQ((*point)->checkpoint, checkpoint_for(1));
  EXPECT_EQ((*point)->known_client_ids, (std::vector<std::string>{"c1", "c2"}));
  auto rounds = store->rounds("t");
  ASSERT_TRUE(rounds);
  ASSERT_EQ(rounds->size(), 1u);
  auto people = store->participants("t");
  ASSERT_TRUE(people);
  ASSERT_EQ(people->size(), 2u);
  EXPECT_EQ((*people)[0].n_contributions, 1u);
  EXPECT_EQ((*people)[1].n_contributions, 0u);

  // The server redoes round 2.
  ASSERT_TRUE(store->commit_round(make_round("t", 2, {"c2"}), checkpoint_for(2)));
  point = store->resume_point("t");
  ASSERT_TRUE(point && point->has_value());
  EXPECT_EQ((*point)->completed_rounds, 2u);

  // Every checkpoint lost: nothing to resume, and the history starts over.
  std::error_code ec;
  fs::remove_all(dir_ / "checkpoints", ec);
  point = store->resume_point("t");
  ASSERT_TRUE(point);
  EXPECT_FALSE(point->has_value());
  rounds = store->rounds("t");
  ASSERT_TRUE(rounds);
  EXPECT_TRUE(rounds->empty());
  ASSERT_TRUE(store->commit_round(make_round("t", 1), checkpoint_for(1)));
}

TEST_F(StoreTest, ParticipantsAreUpsertedAndCounted) {
  auto store = open_store(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_task(make_task("t")));
  ASSERT_TRUE(store->record_participant("t", "c1", 100));
  ASSERT_TRUE(store->record_participant("t", "c1", 50));
  ASSERT_TRUE(store->record_participant("t", "c1", 200));
  ASSERT_TRUE(store->record_participant("t", "c0", 70));
  ASSERT_TRUE(store->commit_round(make_round("t", 1, {"c1", "c2"}), checkpoint_for(1)));
  ASSERT_TRUE(store->commit_round(make_round("t", 2, {"c1"}), checkpoint_for(2)));

  auto people = store->participants("t");
  ASSERT_TRUE(people);
  ASSERT_EQ(people->size(), 3u);
  EXPECT_EQ((*people)[0].client_id, "c0");
  EXPECT_EQ((*people)[0].n_contributions, 0u);
  EXPECT_EQ((*people)[1].client_id, "c1");
  EXPECT_EQ((*people)[1].first_seen_ms, 50);
  EXPECT_EQ((*people)[1].last_seen_ms, 200);
  EXPECT_EQ((*people)[1].n_contributions, 2u);
  EXPECT_EQ((*people)[2].client_id, "c2");  // first seen as a contributor
  EXPECT_EQ((*people)[2].first_seen_ms, 10'001);
  EXPECT_EQ((*people)[2].n_contributions, 1u);

  auto unknown = store->record_participant("other", "c1", 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::NotFound);
  auto empty = store->record_participant("t", "", 1);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::InvalidArgument);
  auto none = store->participants("other");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(StoreTest, GarbageDatabaseIsAClearError) {
  std::string garbage;
  std::mt19937 rng(7);
  for (int i = 0; i < 8192; ++i) garbage += static_cast<char>(rng());
  write_raw(dir_ / "disco.sqlite3", garbage);
  auto store = Store::open(dir_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::Corruption);
  EXPECT_NE(store.error().message.find((dir_ / "disco.sqlite3").string()), std::string::npos);
  EXPECT_NE(store.error().message.find("not a database"), std::string::npos)
      << store.error().message;
}

TEST_F(StoreTest, DamagedPagesAreAClearError) {
  {
    auto store = open_store(dir_);
    ASSERT_TRUE(store);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(store->put_task(make_task("t" + std::to_string(i))));
  }
  const fs::path db = dir_ / "disco.sqlite3";
  sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  // Keep the 100-byte header, overwrite the rest of the first pages.
  std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(100);
  const std::string junk(8000, '\x5a');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  f.close();
  auto store = Store::open(dir_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::Corruption) << store.error().message;
  EXPECT_NE(store.error().message.find(db.string()), std::string::npos);
}

TEST_F(StoreTest, ForeignSqliteDatabaseIsRefused) {
  sql(dir_ / "disco.sqlite3", "CREATE TABLE something (x INTEGER)");
  auto store = Store::open(dir_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::Corruption);
  EXPECT_NE(store.error().message.find("not a disco database"), std::string::npos);
}

TEST_F(StoreTest, NewerSchemaVersionIsRefused) {
  ASSERT_TRUE(open_store(dir_));
  const fs::path db = dir_ / "disco.sqlite3";
  sql(db, "UPDATE schema_version SET version = " + std::to_string(kSchemaVersion + 1));
  auto store = Store::open(dir_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::InvalidArgument);
  const std::string& message = store.error().message;
  EXPECT_NE(message.find(db.string()), std::string::npos) << message;
  EXPECT_NE(message.find("schema version " + std::to_string(kSchemaVersion + 1) + " is newer"),
            std::string::npos)
      << message;
  // Refusing changed nothing.
  EXPECT_EQ(sql(db, "SELECT version FROM schema_version"), std::to_string(kSchemaVersion + 1));
}

TEST_F(StoreTest, DataDirThatIsAFileIsAnError) {
  write_raw(dir_ / "file", "x");
  auto store = Store::open(dir_ / "file");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::Internal);
  EXPECT_NE(store.error().message.find((dir_ / "file").string()), std::string::npos);
}

// The child: commits rounds 1.. until killed, writing one byte to progress_fd after each commit
// returns. Never returns; exit codes > 0 mean a Store error.
[[noreturn]] void commit_until_killed(const fs::path& data_dir, int progress_fd) {
  constexpr uint64_t kMaxRounds = 60;
  auto store = Store::open(data_dir);
  if (!store) ::_exit(2);
  for (uint64_t r = 1; r <= kMaxRounds; ++r) {
    if (!(*store)->commit_round(make_round("t", r), checkpoint_for(r))) ::_exit(3);
    const char c = 'r';
    if (::write(progress_fd, &c, 1) != 1) ::_exit(4);
  }
  ::_exit(0);
}

TEST_F(StoreTest, SigkillDuringCommitsResumesAtACommittedRound) {
  std::mt19937_64 rng(20240601);
  for (int iteration = 0; iteration < 6; ++iteration) {
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    const fs::path data = dir_ / ("run" + std::to_string(iteration));
    {
      auto store = open_store(data);
      ASSERT_TRUE(store);
      ASSERT_TRUE(store->put_task(make_task("t")));
    }  // closed before fork: the child opens its own connection
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      commit_until_killed(data, fds[1]);
    }
    ::close(fds[1]);
    const int n_wait = 1 + static_cast<int>(rng() % 6);
    int n_seen = 0;
    char c = 0;
    while (n_seen < n_wait && ::read(fds[0], &c, 1) == 1) ++n_seen;
    // Lands somewhere inside a later commit: writing, fsyncing, renaming or in the transaction.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 4000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        << "child failed with exit code " << WEXITSTATUS(status);
    ASSERT_EQ(n_seen, n_wait);

    auto store = open_store(data);
    ASSERT_TRUE(store);
    auto rounds = store->rounds("t");
    ASSERT_TRUE(rounds);
    ASSERT_GE(rounds->size(), static_cast<std::size_t>(n_seen));
    for (std::size_t i = 0; i < rounds->size(); ++i) {
      EXPECT_EQ((*rounds)[i].round, i + 1);
      EXPECT_EQ((*rounds)[i].contributors, (std::vector<std::string>{"c1", "c2"}));
    }
    const uint64_t newest = rounds->size();
    auto point = store->resume_point("t");
    ASSERT_TRUE(point);
    ASSERT_TRUE(point->has_value());
    EXPECT_EQ((*point)->completed_rounds, newest);  // a crash never costs a committed round
    EXPECT_TRUE((*point)->checkpoint == checkpoint_for(newest));
    auto people = store->participants("t");
    ASSERT_TRUE(people);
    ASSERT_EQ(people->size(), 2u);
    EXPECT_EQ((*people)[0].n_contributions, newest);

    // The server carries on from there; the crash's leftovers are cleaned up.
    ASSERT_TRUE(store->commit_round(make_round("t", newest + 1), checkpoint_for(newest + 1)));
    point = store->resume_point("t");
    ASSERT_TRUE(point && point->has_value());
    EXPECT_EQ((*point)->completed_rounds, newest + 1);
    EXPECT_TRUE((*point)->checkpoint == checkpoint_for(newest + 1));
    std::vector<std::string> kept = {"round-" + std::to_string(newest) + ".safetensors",
                                     "round-" + std::to_string(newest + 1) + ".safetensors"};
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(files_in(data / "checkpoints" / "t"), kept);
  }
}

}  // namespace
}  // namespace disco::server
