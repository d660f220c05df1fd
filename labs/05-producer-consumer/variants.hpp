#pragma once
// The variants of lab 05 and the forms each applies to. The reference fixes come from
// solutions/05-producer-consumer/ when that folder is part of the build.
#include "broken.hpp"
#include "exercise.hpp"
#include "prodcons.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <string>
#include <vector>

namespace prodcons {

template <template <class Form> class Variant>
hazardlab::VariantSpec make_variant(std::string name, std::string shows, const Params& params) {
  return hazardlab::variant(std::move(name), std::move(shows), hazardlab::Forms::both,
                            [&params](auto form, const hazardlab::RunContext& context) {
                              using Form = decltype(form);
                              return run<Form, Variant<Form>>(params, context);
                            });
}

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  return {
      make_variant<BrokenNoMutex>("broken-no-mutex", "semaphores but no mutex: two workers claim one slot", params),
      make_variant<BrokenMutexFirst>("broken-mutex-first", "mutex before the wait for a slot: a full ring freezes",
                                     params),
      make_variant<BrokenNoEmptyCount>("broken-no-empty-count", "no count of empty slots: items overwritten", params),
      make_variant<BrokenNoShutdown>("broken-no-shutdown", "consumers never told it ended: they wait forever", params),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      make_variant<Fixed>("fixed", "slot first, then the mutex; a poison pill per consumer", params),
      make_variant<FixedCondvar>("fixed-condvar", "a mutex, two condition variables and a closed flag", params),
#endif
      make_variant<Exercise>("exercise", "your fix (labs/05-producer-consumer/exercise.hpp)", params),
  };
}

} // namespace prodcons
