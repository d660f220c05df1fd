#pragma once
// The variants of lab 01 and the forms each applies to. The reference fixes come from
// solutions/01-race/ when that folder is part of the build.
#include "broken.hpp"
#include "run.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <vector>

namespace race {

// The exercise's variant is built in a translation unit of its own (exercise_variant.cpp), so that
// an edit to the exercise compiles that file again and nothing else.
hazardlab::VariantSpec exercise_variant(const Params& params);

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  using hazardlab::Forms;
  using hazardlab::variant_of;
  const auto runs = runs_with(params);
  return {
      variant_of<Broken>("broken", "unsynchronized read-modify-write: updates are lost", Forms::both, runs),
      variant_of<BrokenPrivateMutex>("broken-private-mutex",
                                     "a std::mutex in shared memory: not process-shared, see what happens",
                                     Forms::process_only, runs),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      variant_of<FixedMutex>("fixed-mutex", "the form's mutex around the increment: exact count", Forms::both, runs),
      variant_of<FixedAtomic>("fixed-atomic", "a lock-free atomic fetch_add: exact count", Forms::both, runs),
#endif
      exercise_variant(params),
  };
}

} // namespace race
