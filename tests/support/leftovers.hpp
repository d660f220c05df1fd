#pragma once
// What a run must never leave behind: a child process (running or zombie) or a shared-memory
// object.
#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

#include <set>
#include <string>
#include <vector>

namespace hazardlab::testing {

// The children of `parent` that still exist, zombies included (from /proc).
std::vector<pid_t> children_of(pid_t parent);
// The processes whose parent is `parent` or one of its descendants.
std::vector<pid_t> descendants_of(pid_t parent);
// The names in /dev/shm.
std::set<std::string> shm_objects();
// Whether a process with this pid exists (zombies count).
bool process_exists(pid_t pid);

// While alive, the test process is a child subreaper: a process orphaned anywhere below it (a
// lab's worker that outlived the lab) is re-parented to the test instead of to init, so
// children_of(getpid()) sees what a lab run left behind.
class AdoptOrphans {
public:
  AdoptOrphans();
  AdoptOrphans(const AdoptOrphans&) = delete;
  AdoptOrphans& operator=(const AdoptOrphans&) = delete;
  ~AdoptOrphans();
};

// A test after which the test process has no child left (zombies included) and /dev/shm has
// gained nothing: what every run must leave behind, checked after every test that runs workers.
class LeavesNothingBehind : public ::testing::Test {
protected:
  void SetUp() override { shm_before_ = shm_objects(); }
  void TearDown() override {
    EXPECT_TRUE(children_of(::getpid()).empty()) << "a child process (or zombie) was left";
    std::vector<std::string> gained;
    std::ranges::set_difference(shm_objects(), shm_before_, std::back_inserter(gained));
    EXPECT_TRUE(gained.empty()) << "/dev/shm gained " << ::testing::PrintToString(gained);
  }

private:
  std::set<std::string> shm_before_;
};

} // namespace hazardlab::testing
