#pragma once
// The variants of lab 01 and the forms each applies to. The reference fixes come from
// solutions/01-race/ when that folder is part of the build.
#include "broken.hpp"
#include "exercise.hpp"
#include "race.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <vector>

namespace race {

template <template <class Form> class Variant>
hazardlab::VariantSpec make_variant(std::string name, std::string shows, hazardlab::Forms forms, const Params& params) {
  return hazardlab::variant(std::move(name), std::move(shows), forms,
                            [&params](auto form, const hazardlab::RunContext& context) {
                              using Form = decltype(form);
                              return run<Form, Variant<Form>>(params, context);
                            });
}

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  using hazardlab::Forms;
  return {
      make_variant<Broken>("broken", "unsynchronized read-modify-write: updates are lost", Forms::both, params),
      make_variant<BrokenPrivateMutex>("broken-private-mutex",
                                       "a std::mutex in shared memory: not process-shared, see what happens",
                                       Forms::process_only, params),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      make_variant<FixedMutex>("fixed-mutex", "the form's mutex around the increment: exact count", Forms::both,
                               params),
      make_variant<FixedAtomic>("fixed-atomic", "a lock-free atomic fetch_add: exact count", Forms::both, params),
#endif
      make_variant<Exercise>("exercise", "your fix (labs/01-race/exercise.hpp)", Forms::both, params),
  };
}

} // namespace race
