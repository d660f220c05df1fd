#pragma once
// The variants of lab 03 and the forms each applies to. The reference fixes come from
// solutions/03-livelock/ when that folder is part of the build.
#include "broken.hpp"
#include "run.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <string>
#include <vector>

namespace livelock {

// The exercise's variant is built in a translation unit of its own (exercise_variant.cpp), so that
// an edit to the exercise compiles that file again and nothing else.
hazardlab::VariantSpec exercise_variant(const Params& params);

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  using hazardlab::Forms;
  using hazardlab::variant_of;
  const auto runs = runs_with(params);
  return {
      variant_of<Broken>("broken", "take one, try the other, give way, same pause: busy and getting nowhere",
                         Forms::both, runs),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      variant_of<FixedBackoff>("fixed-backoff", "randomized exponential back-off: someone tries alone", Forms::both,
                               runs),
      variant_of<FixedOrdering>("fixed-ordering", "everyone takes the lower-numbered resource first", Forms::both,
                                runs),
#endif
      exercise_variant(params),
  };
}

} // namespace livelock
