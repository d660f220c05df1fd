#pragma once
// The variants of lab 05 and the forms each applies to. The reference fixes come from
// solutions/05-producer-consumer/ when that folder is part of the build.
#include "broken.hpp"
#include "prodcons.hpp"
#include "run.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <string>
#include <vector>

namespace prodcons {

// The exercise's variant is built in a translation unit of its own (exercise_variant.cpp), so that
// an edit to the exercise compiles that file again and nothing else.
hazardlab::VariantSpec exercise_variant(const Params& params);

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  using hazardlab::Forms;
  using hazardlab::variant_of;
  const auto runs = runs_with(params);
  return {
      variant_of<BrokenNoMutex>("broken-no-mutex", "semaphores but no mutex: two workers claim one slot", Forms::both,
                                runs),
      variant_of<BrokenMutexFirst>("broken-mutex-first", "mutex before the wait for a slot: a full ring freezes",
                                   Forms::both, runs),
      variant_of<BrokenNoEmptyCount>("broken-no-empty-count", "no count of empty slots: items overwritten", Forms::both,
                                     runs),
      variant_of<BrokenNoShutdown>("broken-no-shutdown", "consumers never told it ended: they wait forever",
                                   Forms::both, runs),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      variant_of<Fixed>("fixed", "slot first, then the mutex; a poison pill per consumer", Forms::both, runs),
      variant_of<FixedCondvar>("fixed-condvar", "a mutex, two condition variables and a closed flag", Forms::both,
                               runs),
#endif
      exercise_variant(params),
  };
}

} // namespace prodcons
