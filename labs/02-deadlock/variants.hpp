#pragma once
// The variants of lab 02 and the forms each applies to. The reference fixes come from
// solutions/02-deadlock/ when that folder is part of the build.
#include "broken.hpp"
#include "run.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <string>
#include <vector>

namespace deadlock {

// The exercise's variant is built in a translation unit of its own (exercise_variant.cpp), so that
// an edit to the exercise compiles that file again and nothing else.
hazardlab::VariantSpec exercise_variant(const Params& params);

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  using hazardlab::Forms;
  using hazardlab::variant_of;
  const auto runs = runs_with(params);
  return {
      variant_of<Broken>("broken", "each worker locks in its own order: a cycle of waiters freezes the run",
                         Forms::both, runs),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      variant_of<FixedOrdering>("fixed-ordering", "locks taken lowest number first: no circular wait", Forms::both,
                                runs),
      variant_of<FixedLockAll>("fixed-lock-all", "std::scoped_lock takes both, never holding while waiting",
                               Forms::both, runs),
      variant_of<FixedWaiter>("fixed-waiter", "a butler admits at most N-1 philosophers to the table", Forms::both,
                              runs, {"--scenario", "philosophers"}),
#endif
      exercise_variant(params),
  };
}

// What the options cannot check alone.
inline std::string validate(const Params& params, const std::string& /*variant*/,
                            const hazardlab::RunContext& context) {
  if (params.scenario == Scenario::philosophers && context.workers < 2)
    return "--scenario philosophers needs --workers 2 to 64 (one philosopher would need his only fork twice)";
  return {};
}

} // namespace deadlock
