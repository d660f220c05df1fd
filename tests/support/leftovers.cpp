#include "leftovers.hpp"

#include <signal.h>
#include <sys/prctl.h>

#include <cerrno>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hazardlab::testing {

namespace fs = std::filesystem;

namespace {
// The parent pid from /proc/PID/stat: "pid (comm) state ppid ...", comm may hold spaces.
pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}
} // namespace

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (parent_of(pid) == parent) children.push_back(pid);
  }
  return children;
}

std::vector<pid_t> descendants_of(pid_t parent) {
  std::vector<pid_t> all;
  std::vector<pid_t> frontier{parent};
  while (!frontier.empty()) {
    const pid_t p = frontier.back();
    frontier.pop_back();
    for (pid_t child : children_of(p)) {
      all.push_back(child);
      frontier.push_back(child);
    }
  }
  return all;
}

std::set<std::string> shm_objects() {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev/shm", ec))
    names.insert(entry.path().filename());
  return names;
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

AdoptOrphans::AdoptOrphans() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
AdoptOrphans::~AdoptOrphans() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }

} // namespace hazardlab::testing
