#include "hazardlab/explore.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <unordered_map>

namespace hazardlab {

namespace {

// A choice point on the path the exploration is on, and the workers already tried there.
struct PathNode {
  ChoiceNode node;
  WorkerSet tried = 0;
  bool preempts(int worker) const noexcept { return node.current_eligible && worker != node.current; }
};

std::vector<ChoiceRun> choices_of(const std::vector<PathNode>& path) {
  std::vector<ChoiceRun> runs;
  for (const auto& p : path) {
    if (!runs.empty() && runs.back().worker == p.node.chosen) {
      ++runs.back().count;
      continue;
    }
    runs.push_back({p.node.chosen, 1});
  }
  return runs;
}

// Moves the path to the next schedule, depth-first: the deepest choice point with a worker not yet
// tried there that keeps the schedule within the bound. False when there is none (exhausted).
bool next_schedule(std::vector<PathNode>& path, int bound) {
  std::vector<int> before(path.size() + 1, 0); // preemptions among the first i choice points
  for (std::size_t i = 0; i < path.size(); ++i)
    before[i + 1] = before[i] + (path[i].preempts(path[i].node.chosen) ? 1 : 0);
  for (std::size_t i = path.size(); i-- > 0;) {
    PathNode& p = path[i];
    const WorkerSet untried = p.node.eligible & ~p.tried;
    for (int w = 0; w < kMaxWorkers; ++w) {
      if (!(untried >> w & 1) || before[i] + (p.preempts(w) ? 1 : 0) > bound) continue;
      p.tried |= only(w);
      p.node.chosen = w;
      path.resize(i + 1);
      return true;
    }
  }
  path.clear();
  return false;
}

} // namespace

Exploration explore(const RunFunction& run, RunContext context, const ExploreOptions& options) {
  Exploration out;
  const auto started = std::chrono::steady_clock::now();
  context.schedule = Schedule::explore;
  // On from here on: the report names the objects of its table after the exploration has returned.
  want_object_names(true);
  std::vector<PathNode> path;
  std::uint64_t reported_steps = 0;
  for (;;) {
    context.replay = choices_of(path);
    context.trial = static_cast<int>(out.schedules);
    RunResult result = run(context);
    result.seed = context.seed;
    result.control = take_control_record();
    ++out.schedules;

    const auto& nodes = result.control.nodes;
    if (nodes.size() < path.size() && result.control.given_up.empty()) // given up: counted below
      throw ScheduleMismatch(fmt::format("schedule {} ended after {} of the {} choices it was to repeat: the run does "
                                         "not go the same way each time under control",
                                         out.schedules, nodes.size(), path.size()));
    for (std::size_t i = path.size(); i < nodes.size(); ++i)
      path.push_back({nodes[i], only(nodes[i].chosen)});
    if (!result.control.given_up.empty()) ++out.given_up;
    if (!result.control.explored_complete) ++out.incomplete;

    ++out.histogram[result.outcome()];
    if (severity(result.verdict) > severity(out.worst)) out.worst = result.verdict;
    const bool failing = result.verdict != Verdict::correct;
    const std::uint64_t steps = result.control.steps;
    if (out.schedules == 1 || (failing && (!out.found_failure || steps < reported_steps))) {
      out.found_failure = out.found_failure || failing;
      reported_steps = steps;
      out.reported = std::move(result);
      out.reported_schedule = out.schedules;
    }
    if (threads_abandoned()) break; // a run escaped control and got stuck: no run can follow it
    if (failing && options.stop_at_first_failure) {
      out.stopped_at_failure = true;
      break;
    }
    if (!next_schedule(path, options.preemptions)) {
      out.exhausted = out.given_up == 0 && out.incomplete == 0;
      break;
    }
    if (out.schedules >= options.max_schedules) break;
  }
  out.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return out;
}

// ---- the schedule as steps ---------------------------------------------------------------------

namespace {

struct NamedStep {
  int worker;
  std::string does;
};

// Reads the record in order and says what each step does. A step is a scheduling point: the worker
// is about to do the operation named there, and does it when it next runs (just before its next
// step), which is when a lock changes hands.
class StepNamer {
public:
  std::vector<NamedStep> name(const ControlRecord& record) {
    std::vector<NamedStep> out;
    for (const auto& step : record.step_log) {
      settle(step.worker, step);
      out.push_back({step.worker, does(step)});
      pending_[step.worker] = step;
    }
    return out;
  }

private:
  static std::string_view kind(Point point) {
    switch (point) {
    case Point::lock:
    case Point::try_lock:
    case Point::unlock:
      return "mutex";
    case Point::acquire:
    case Point::try_acquire:
    case Point::release:
      return "semaphore";
    case Point::wait:
    case Point::notify:
      return "condition variable";
    case Point::atomic:
      return "atomic";
    default:
      return "object";
    }
  }
  std::string object(const StepRecord& step) {
    if (step.object == nullptr) return "?";
    if (std::string name = object_name(step.object); !name.empty()) return name;
    auto [it, added] = unnamed_.try_emplace(step.object, std::string());
    if (added) it->second = fmt::format("{} {}", kind(step.point), ++unnamed_count_[std::string(kind(step.point))]);
    return it->second;
  }
  static std::string labelled(const StepLabel& label, std::string_view fallback) {
    const std::string text = label.text != nullptr ? std::string(label.text) : std::string(fallback);
    return label.has_value ? fmt::format("{} = {}", text, label.value) : text;
  }
  std::string held_by(const void* object) const {
    const auto it = holder_.find(object);
    return it == holder_.end() ? std::string() : fmt::format(" (held by worker {})", it->second);
  }
  // What the worker's previous step did, now that it has run on to this one.
  void settle(int worker, const StepRecord& now) {
    const auto it = pending_.find(worker);
    if (it == pending_.end()) return;
    const StepRecord& before = it->second;
    // Blocked at the operation it was about to do (or still blocked there): it has not done it yet.
    const bool still_waiting = now.blocked && now.object == before.object && now.point == before.point;
    if (still_waiting) return;
    switch (before.point) {
    case Point::lock:
      holder_[before.object] = worker;
      break;
    case Point::try_lock:
      if (!holder_.contains(before.object)) holder_[before.object] = worker;
      break;
    case Point::unlock:
      holder_.erase(before.object);
      break;
    case Point::wait:
      // Back from a condition variable's wait: it holds again what the wait let go of.
      for (const void* object : let_go_[worker])
        holder_[object] = worker;
      let_go_[worker].clear();
      break;
    default:
      break;
    }
  }
  std::string does(const StepRecord& step) {
    switch (step.point) {
    case Point::start:
      return "start";
    case Point::hazard:
      return labelled(step.label, "hazard point");
    case Point::tagged:
      return step.label.text != nullptr ? labelled(step.label, "") : fmt::format("scheduling point {}", step.tag);
    case Point::lock:
      return step.blocked ? fmt::format("wait for {}{}", object(step), held_by(step.object))
                          : fmt::format("lock {}", object(step));
    case Point::try_lock:
      return fmt::format("try_lock {}", object(step));
    case Point::unlock:
      return fmt::format("unlock {}", object(step));
    case Point::acquire:
      return step.blocked ? fmt::format("wait for {} (no permit)", object(step))
                          : fmt::format("acquire {}", object(step));
    case Point::try_acquire:
      return fmt::format("try_acquire {}", object(step));
    case Point::release:
      return fmt::format("release {}", object(step));
    case Point::wait:
      if (step.blocked) {
        // The wait lets go of the worker's locks' (its mutex) until it is notified.
        for (auto it = holder_.begin(); it != holder_.end();) {
          if (it->second == step.worker) {
            let_go_[step.worker].push_back(it->first);
            it = holder_.erase(it);
          } else {
            ++it;
          }
        }
        return fmt::format("wait on {} for a notify", object(step));
      }
      return fmt::format("wait on {}", object(step));
    case Point::notify:
      return fmt::format("notify {}", object(step));
    case Point::spin:
      return "spin: wait for another worker";
    case Point::pause:
      return "pause";
    case Point::atomic:
      return fmt::format("{} {}", labelled({step.label.text, 0, false}, "atomic"), object(step)) +
             (step.label.has_value ? fmt::format(" ({})", step.label.value) : "");
    case Point::end:
      return "end";
    }
    return "?";
  }

  std::unordered_map<int, StepRecord> pending_;
  std::unordered_map<const void*, int> holder_;
  std::unordered_map<int, std::vector<const void*>> let_go_;
  std::unordered_map<const void*, std::string> unnamed_;
  std::unordered_map<std::string, int> unnamed_count_;
};

} // namespace

std::string schedule_table(const ControlRecord& record, int workers, const std::vector<std::string>& worker_names) {
  const auto steps = StepNamer().name(record);
  std::vector<std::string> heads;
  std::vector<std::size_t> width;
  for (int w = 0; w < workers; ++w) {
    heads.push_back(w < std::ssize(worker_names) ? worker_names[static_cast<std::size_t>(w)]
                                                 : fmt::format("worker {}", w));
    width.push_back(heads.back().size());
  }
  for (const auto& step : steps)
    if (step.worker >= 0 && step.worker < workers)
      width[static_cast<std::size_t>(step.worker)] =
          std::max(width[static_cast<std::size_t>(step.worker)], step.does.size());
  std::string out = "  step";
  for (int w = 0; w < workers; ++w)
    out += fmt::format("  {:<{}}", heads[static_cast<std::size_t>(w)], width[static_cast<std::size_t>(w)]);
  while (out.back() == ' ')
    out.pop_back();
  out += '\n';
  int number = 0;
  for (const auto& step : steps) {
    std::string row = fmt::format("  {:>4}", ++number);
    for (int w = 0; w < workers; ++w)
      row += fmt::format("  {:<{}}", w == step.worker ? step.does : "", width[static_cast<std::size_t>(w)]);
    while (!row.empty() && row.back() == ' ')
      row.pop_back();
    out += row + '\n';
  }
  if (!record.explored_complete) out += "  … (the run was longer than the record holds)\n";
  return out;
}

nlohmann::ordered_json schedule_steps_json(const ControlRecord& record) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int number = 0;
  for (const auto& step : StepNamer().name(record))
    out.push_back({{"step", ++number}, {"worker", step.worker}, {"does", step.does}});
  return out;
}

} // namespace hazardlab
