#pragma once
// The variants of lab 02 and the forms each applies to. The reference fixes come from
// solutions/02-deadlock/ when that folder is part of the build.
#include "broken.hpp"
#include "deadlock.hpp"
#include "exercise.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include <string>
#include <vector>

namespace deadlock {

template <template <class Form> class Variant>
hazardlab::VariantSpec make_variant(std::string name, std::string shows, const Params& params,
                                    std::vector<std::string> needs = {}) {
  auto spec = hazardlab::variant(std::move(name), std::move(shows), hazardlab::Forms::both,
                                 [&params](auto form, const hazardlab::RunContext& context) {
                                   using Form = decltype(form);
                                   return run<Form, Variant<Form>>(params, context);
                                 });
  spec.needs = std::move(needs);
  return spec;
}

inline std::vector<hazardlab::VariantSpec> variants(const Params& params) {
  return {
      make_variant<Broken>("broken", "each worker locks in its own order: a cycle of waiters freezes the run", params),
#ifdef HAZARDLAB_WITH_SOLUTIONS
      make_variant<FixedOrdering>("fixed-ordering", "locks taken lowest number first: no circular wait", params),
      make_variant<FixedLockAll>("fixed-lock-all", "std::scoped_lock takes both, never holding while waiting", params),
      make_variant<FixedWaiter>("fixed-waiter", "a butler admits at most N-1 philosophers to the table", params,
                                {"--scenario", "philosophers"}),
#endif
      make_variant<Exercise>("exercise", "your fix (labs/02-deadlock/exercise.hpp)", params),
  };
}

// What the options cannot check alone.
inline std::string validate(const Params& params, const std::string& variant, const hazardlab::RunContext& context) {
  if (params.scenario == Scenario::philosophers && context.workers < 2)
    return "--scenario philosophers needs --workers 2 to 64 (one philosopher would need his only fork twice)";
  if (params.scenario == Scenario::bank && variant == "fixed-waiter")
    return "--variant fixed-waiter applies only to --scenario philosophers";
  return {};
}

} // namespace deadlock
