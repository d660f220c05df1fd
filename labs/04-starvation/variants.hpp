#pragma once
// The variants of lab 04 and the forms and scenarios each applies to. The reference fixes come
// from solutions/04-starvation/ when that folder is part of the build.
#include "broken.hpp"
#include "run.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <fmt/format.h>

#include <string>
#include <vector>

namespace starvation {

// The exercise's variant is built in a translation unit of its own (exercise_variant.cpp), so that
// an edit to the exercise compiles that file again and nothing else.
hazardlab::VariantSpec exercise_variant(const Params& params);

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  using hazardlab::Forms;
  using hazardlab::variant_of;
  const auto runs = runs_with(params);
  return {
      variant_of<Broken>("broken", "readers keep the room, the writer waits; greedy: a mutex hands nothing over",
                         Forms::both, runs),
      variant_of<BrokenSharedMutex>("broken-shared-mutex", "std::shared_mutex: glibc lets readers in past a writer",
                                    Forms::thread_only, runs, {"--scenario", "readers-writers"}),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      variant_of<FixedTurnstile>("fixed-turnstile", "a waiting writer holds a turnstile new readers queue at",
                                 Forms::both, runs, {"--scenario", "readers-writers"}),
      variant_of<FixedTicket>("fixed-ticket", "a FIFO ticket lock: served in the order they asked", Forms::both, runs,
                              {"--scenario", "greedy"}),
#endif
      exercise_variant(params),
  };
}

// What the options cannot check one by one.
inline std::string validate(const Params& params, const std::string& /*variant*/,
                            const hazardlab::RunContext& context) {
  if (params.scenario == Scenario::readers_writers && params.readers + params.writers > hazardlab::kMaxWorkers)
    return fmt::format("--readers plus --writers must be at most {}, not {}", hazardlab::kMaxWorkers,
                       params.readers + params.writers);
  if (params.scenario == Scenario::greedy && context.workers < 2)
    return "--scenario greedy needs --workers 2 to 64 (the greedy worker and at least one rival)";
  return {};
}

} // namespace starvation
