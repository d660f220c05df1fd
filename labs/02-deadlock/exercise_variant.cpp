// The exercise's variant, compiled on its own: an edit to exercise.hpp compiles this file again,
// not the whole lab (variants.hpp declares it).
#include "exercise.hpp"
#include "run.hpp"

namespace deadlock {

hazardlab::VariantSpec exercise_variant(const Params& params) {
  return hazardlab::variant_of<Exercise>("exercise", "your fix (labs/02-deadlock/exercise.hpp)", hazardlab::Forms::both,
                                         runs_with(params));
}

} // namespace deadlock
