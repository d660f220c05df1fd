#include "hazardlab/traced_lock.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace hazardlab {

WaitForGraph::WaitForGraph(std::string lock_name, std::vector<int> holder_of_lock, std::vector<int> awaited_by_worker,
                           std::vector<SemaphoreInGraph> semaphores)
    : name_(std::move(lock_name)), holder_(std::move(holder_of_lock)), awaited_(std::move(awaited_by_worker)),
      semaphores_(std::move(semaphores)) {}

std::string WaitForGraph::lock_name(int lock) const {
  return holder_.size() == 1 ? name_ : fmt::format("{} {}", name_, lock);
}

std::string WaitForGraph::worker_name(int worker) const {
  return worker < std::ssize(worker_names_) ? worker_names_[worker] : fmt::format("worker {}", worker);
}

std::vector<int> WaitForGraph::waits_on(int worker) const {
  const int awaited = awaited_[worker];
  if (awaited >= 0 && awaited < std::ssize(holder_)) {
    const int holder = holder_[awaited];
    return holder >= 0 && holder < workers() ? std::vector<int>{holder} : std::vector<int>{};
  }
  const int semaphore = awaited - kAwaitsSemaphore;
  if (semaphore < 0 || semaphore >= std::ssize(semaphores_)) return {};
  if (semaphores_[semaphore].value > 0) return {}; // a permit is there: the waiter is about to go on
  std::vector<int> givers;
  for (int giver : semaphores_[semaphore].given_by)
    if (giver < workers()) givers.push_back(giver);
  return givers;
}

std::vector<bool> WaitForGraph::frozen(const std::vector<bool>& finished) const {
  // Start from every waiting worker and strike out, until nothing changes, each one that may still
  // be released: one waiting for a lock whose holder is not frozen, or for a semaphore with a
  // permit left or with any giver that is not frozen (any one giver could release it). What is
  // left waits only for workers that wait only for workers that … are left: nobody can ever move.
  std::vector<bool> frozen(workers());
  for (int w = 0; w < workers(); ++w)
    frozen[w] = awaited_[w] >= 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (int w = 0; w < workers(); ++w) {
      if (!frozen[w]) continue;
      const auto next = waits_on(w);
      const auto gone = [&](int n) { return frozen[n] || (n < std::ssize(finished) && finished[n]); };
      const bool held_by_frozen = !next.empty() && std::ranges::all_of(next, gone);
      if (!held_by_frozen) {
        frozen[w] = false;
        changed = true;
      }
    }
  }
  return frozen;
}

std::vector<int> WaitForGraph::cycle() const {
  // Depth-first, among the frozen workers only, from each of them; meeting a worker that is still
  // on the current path closes a cycle. Every frozen worker's edges lead to frozen workers, so a
  // walk among them always ends in one. The graphs are tiny (at most 64 workers).
  enum class Mark { unseen, on_path, done };
  const auto frozen_now = frozen();
  std::vector<Mark> mark(workers(), Mark::unseen);
  std::vector<int> path;
  std::vector<int> found;
  auto visit = [&](auto& self, int w) -> bool {
    mark[w] = Mark::on_path;
    path.push_back(w);
    for (int next : waits_on(w)) {
      if (!frozen_now[next]) continue;
      if (mark[next] == Mark::on_path) {
        found.assign(std::ranges::find(path, next), path.end());
        return true;
      }
      if (mark[next] == Mark::unseen && self(self, next)) return true;
    }
    path.pop_back();
    mark[w] = Mark::done;
    return false;
  };
  for (int start = 0; start < workers(); ++start)
    if (frozen_now[start] && mark[start] == Mark::unseen && visit(visit, start)) return found;
  return {};
}

std::string WaitForGraph::describe(int worker) const {
  std::vector<std::string> held;
  for (int lock = 0; lock < std::ssize(holder_); ++lock)
    if (holder_[lock] == worker) held.push_back(lock_name(lock));
  const std::string who = worker_name(worker);
  const std::string holds = held.empty() ? "holds nothing" : fmt::format("holds {}", fmt::join(held, ", "));
  const int awaited = awaited_[worker];
  if (awaited < 0) return fmt::format("{} {}, waits for nothing", who, holds);
  if (awaited < std::ssize(holder_)) {
    const int holder = holder_[awaited];
    return fmt::format("{} {}, waits for {} ({})", who, holds, lock_name(awaited),
                       holder < 0 ? "held by nobody" : fmt::format("held by {}", worker_name(holder)));
  }
  const int semaphore = awaited - kAwaitsSemaphore;
  if (semaphore < 0 || semaphore >= std::ssize(semaphores_)) return fmt::format("{} {}, waits", who, holds);
  std::vector<std::string> givers;
  for (int giver : semaphores_[semaphore].given_by)
    if (giver < workers()) givers.push_back(worker_name(giver));
  return fmt::format("{} {}, waits for {} (given by {})", who, holds, semaphores_[semaphore].name,
                     givers.empty() ? "nobody" : fmt::format("{}", fmt::join(givers, ", ")));
}

std::string WaitForGraph::cycle_text() const {
  std::vector<std::string> steps;
  for (int worker : cycle())
    steps.push_back(describe(worker));
  return fmt::format("{}", fmt::join(steps, " → "));
}

std::string WaitForGraph::stuck_text(const std::vector<bool>& finished) const {
  if (std::string cycle = cycle_text(); !cycle.empty()) return cycle;
  const auto frozen_now = frozen(finished);
  std::vector<std::string> lines;
  for (int w = 0; w < workers(); ++w) {
    if (w < std::ssize(finished) && finished[w]) continue;
    if (!frozen_now[w]) return {}; // somebody can still move
    lines.push_back(describe(w));
  }
  return lines.empty() ? std::string{} : fmt::format("{}", fmt::join(lines, "; "));
}

void explain_stuck(RunResult& result, const WaitForGraph& graph) {
  // A livelocked run waits for nothing: its workers only try, and a snapshot of what they hold in
  // passing would explain nothing.
  if (result.verdict != Verdict::stuck || result.kind == "livelock") return;
  for (int w = 0; w < graph.workers(); ++w)
    result.details.push_back(graph.describe(w));
  // A run still making progress at the deadline is slow, not deadlocked, whatever a snapshot of
  // its waits looked like in passing.
  if (result.kind == "too-slow") return;
  const auto cycle = graph.cycle();
  if (cycle.empty()) return;
  const bool only_locks = std::ranges::all_of(cycle, [&](int w) { return graph.awaited_lock(w).has_value(); });
  result.kind = "deadlock";
  result.summary = fmt::format("deadlock: a cycle of {} workers, each waiting for {}", cycle.size(),
                               only_locks ? "a lock the next one holds" : "what only frozen workers could give");
  result.details.push_back("cycle: " + graph.cycle_text());
  result.metrics["cycle"] = cycle;
}

} // namespace hazardlab
