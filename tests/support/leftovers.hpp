#pragma once
// What a run must never leave behind: a child process (running or zombie) or a shared-memory
// object.
#include <sys/types.h>

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

} // namespace hazardlab::testing
