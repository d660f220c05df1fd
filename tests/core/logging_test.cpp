// Logging: every line carries "<form> pid P tid T" of the process and thread that logged it, also
// in a forked child (whose logger run_workers sets up again after fork).
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/forms.hpp"
#include "hazardlab/logging.hpp"
#include "hazardlab/workers.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>

namespace logging_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::Worker;
using hazardlab::WorkersReport;
using namespace std::chrono_literals;

constexpr int kWorkers = 3;

std::string expected_tag(hazardlab::FormKind form, pid_t pid, pid_t tid) {
  return fmt::format("{} pid {} tid {}", hazardlab::to_string(form), pid, tid);
}

// What each worker saw of itself.
struct Seen {
  std::array<std::atomic<pid_t>, kWorkers> pid{};
  std::array<std::atomic<pid_t>, kWorkers> tid{};
  std::array<char[96], kWorkers> tag{}; // read by the caller only after the run
};

// Sends this process's stderr (fd 2, which children inherit) to a memory file for a while.
class CapturedStderr {
public:
  CapturedStderr() {
    std::fflush(stderr);
    file_ = ::memfd_create("hazardlab-logging-test", MFD_CLOEXEC);
    saved_ = ::dup(STDERR_FILENO);
    if (file_ < 0 || saved_ < 0) return;
    ::fcntl(file_, F_SETFL, O_APPEND); // children and threads add lines, never overwrite
    ::dup2(file_, STDERR_FILENO);
  }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;
  ~CapturedStderr() { restore(); }

  bool ok() const noexcept { return file_ >= 0 && saved_ >= 0; }

  // Puts stderr back and returns what was written to it.
  std::string restore() {
    if (!ok()) return {};
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
    std::string text;
    char buffer[4096];
    ::lseek(file_, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(file_, buffer, sizeof buffer)) > 0;)
      text.append(buffer, static_cast<std::size_t>(n));
    ::close(file_);
    file_ = -1;
    return text;
  }

private:
  int file_ = -1;
  int saved_ = -1;
};

class LoggingFixture : public hazardlab::testing::LeavesNothingBehind {
protected:
  void TearDown() override {
    hazardlab::init_logging(hazardlab::FormKind::thread, spdlog::level::warn); // the labs' default
    LeavesNothingBehind::TearDown();
  }
};

template <class Form>
class Logging : public LoggingFixture {};
TYPED_TEST_SUITE(Logging, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(Logging, ActorTagNamesTheWorkersOwnProcessAndThread) {
  using Form = TypeParam;
  hazardlab::init_logging(Form::kind, spdlog::level::info);
  auto seen = hazardlab::place<Form, Seen>();
  const auto report = hazardlab::run_workers<Form>(kWorkers, 30s, [s = seen.get()](Worker& worker) {
    const int id = worker.id();
    s->pid[id].store(::getpid());
    s->tid[id].store(::gettid());
    std::snprintf(s->tag[id], sizeof s->tag[id], "%s", hazardlab::actor_tag().c_str());
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;

  std::set<pid_t> pids;
  std::set<pid_t> tids;
  for (int id = 0; id < kWorkers; ++id) {
    SCOPED_TRACE(::testing::Message() << "worker " << id);
    const pid_t pid = seen->pid[id].load();
    const pid_t tid = seen->tid[id].load();
    pids.insert(pid);
    tids.insert(tid);
    EXPECT_EQ(std::string(seen->tag[id]), expected_tag(Form::kind, pid, tid));
    if constexpr (std::is_same_v<Form, hazardlab::ProcessForm>) {
      EXPECT_NE(pid, ::getpid()) << "the child's tag names the parent";
      EXPECT_EQ(tid, pid) << "a child runs its body on its main thread";
    } else {
      EXPECT_EQ(pid, ::getpid());
      EXPECT_NE(tid, ::gettid()) << "a worker runs on a thread of its own";
    }
  }
  const std::size_t distinct_pids = std::is_same_v<Form, hazardlab::ProcessForm> ? kWorkers : 1;
  EXPECT_EQ(pids.size(), distinct_pids);
  EXPECT_EQ(tids.size(), std::size_t{kWorkers});
}

TYPED_TEST(Logging, LinesLoggedByWorkersCarryTheirTag) {
  using Form = TypeParam;
  hazardlab::init_logging(Form::kind, spdlog::level::info);
  auto seen = hazardlab::place<Form, Seen>();
  std::string captured;
  WorkersReport report;
  {
    CapturedStderr capture;
    ASSERT_TRUE(capture.ok());
    report = hazardlab::run_workers<Form>(kWorkers, 30s, [s = seen.get()](Worker& worker) {
      const int id = worker.id();
      s->pid[id].store(::getpid());
      s->tid[id].store(::gettid());
      spdlog::info("hello from worker {}", id);
      spdlog::default_logger()->flush();
    });
    captured = capture.restore();
  }
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;

  std::istringstream lines(captured);
  std::array<int, kWorkers> found{};
  for (std::string line; std::getline(lines, line);) {
    bool ours = false;
    for (int id = 0; id < kWorkers; ++id) {
      if (line.find(fmt::format("hello from worker {}", id)) == std::string::npos) continue;
      ours = true;
      ++found[id];
      const std::string tag = expected_tag(Form::kind, seen->pid[id].load(), seen->tid[id].load());
      EXPECT_NE(line.find("[" + tag + "]"), std::string::npos) << "worker " << id << " logged: " << line;
      EXPECT_NE(line.find("[info]"), std::string::npos) << line;
    }
    if (!ours) std::fprintf(stderr, "%s\n", line.c_str()); // not ours: pass it on (a sanitizer's report, say)
  }
  for (int id = 0; id < kWorkers; ++id)
    EXPECT_EQ(found[id], 1) << "worker " << id << "'s line; captured:\n" << captured;
}

class LoggingInParent : public LoggingFixture {};

TEST_F(LoggingInParent, InitLoggingPutsTheFormIntoTheTag) {
  const std::string own = fmt::format("pid {} tid {}", ::getpid(), ::gettid());
  hazardlab::init_logging(hazardlab::FormKind::process, spdlog::level::info);
  EXPECT_EQ(hazardlab::actor_tag(), "process " + own);
  EXPECT_EQ(hazardlab::actor_tag().rfind("process", 0), 0u);
  hazardlab::init_logging(hazardlab::FormKind::thread, spdlog::level::info);
  EXPECT_EQ(hazardlab::actor_tag(), "thread " + own);

  // And the tag is on the lines the default logger writes.
  std::string captured;
  {
    CapturedStderr capture;
    ASSERT_TRUE(capture.ok());
    hazardlab::init_logging(hazardlab::FormKind::process, spdlog::level::info);
    spdlog::info("from the parent");
    spdlog::debug("below the level");
    captured = capture.restore();
  }
  EXPECT_NE(captured.find("[process " + own + "] from the parent"), std::string::npos) << captured;
  EXPECT_EQ(captured.find("below the level"), std::string::npos) << captured;
}

} // namespace logging_test
