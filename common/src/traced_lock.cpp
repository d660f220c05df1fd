#include "hazardlab/traced_lock.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace hazardlab {

WaitForGraph::WaitForGraph(std::string lock_name, std::vector<int> holder_of_lock,
                           std::vector<int> lock_awaited_by_worker)
    : name_(std::move(lock_name)), holder_(std::move(holder_of_lock)), awaited_(std::move(lock_awaited_by_worker)) {}

std::string WaitForGraph::lock_name(int lock) const { return fmt::format("{} {}", name_, lock); }

int WaitForGraph::holder_of_awaited(int worker) const {
  const int lock = awaited_[worker];
  return lock < 0 || lock >= static_cast<int>(holder_.size()) ? -1 : holder_[lock];
}

std::vector<int> WaitForGraph::cycle() const {
  // Each worker has at most one outgoing edge. Walk from every worker; a walk that comes back to
  // a worker already on it has found the cycle.
  for (int start = 0; start < workers(); ++start) {
    std::vector<int> path;
    for (int w = start; w >= 0 && w < workers(); w = holder_of_awaited(w)) {
      if (auto seen = std::ranges::find(path, w); seen != path.end()) return {seen, path.end()};
      path.push_back(w);
    }
  }
  return {};
}

std::string WaitForGraph::describe(int worker) const {
  std::vector<std::string> held;
  for (int lock = 0; lock < static_cast<int>(holder_.size()); ++lock)
    if (holder_[lock] == worker) held.push_back(lock_name(lock));
  const std::string holds = held.empty() ? "holds nothing" : fmt::format("holds {}", fmt::join(held, ", "));
  const int awaited = awaited_[worker];
  if (awaited < 0) return fmt::format("worker {} {}, waits for nothing", worker, holds);
  const int holder = holder_of_awaited(worker);
  return fmt::format("worker {} {}, waits for {} ({})", worker, holds, lock_name(awaited),
                     holder < 0 ? "held by nobody" : fmt::format("held by worker {}", holder));
}

std::string WaitForGraph::cycle_text() const {
  std::vector<std::string> steps;
  for (int worker : cycle())
    steps.push_back(describe(worker));
  return fmt::format("{}", fmt::join(steps, " → "));
}

void explain_stuck(RunResult& result, const WaitForGraph& graph) {
  if (result.verdict != Verdict::stuck) return;
  for (int w = 0; w < graph.workers(); ++w)
    result.details.push_back(graph.describe(w));
  const auto cycle = graph.cycle();
  if (cycle.empty()) return;
  result.kind = "deadlock";
  result.summary =
      fmt::format("deadlock: a cycle of {} workers, each waiting for a lock the next one holds", cycle.size());
  result.details.push_back("cycle: " + graph.cycle_text());
  result.metrics["cycle"] = cycle;
}

} // namespace hazardlab
