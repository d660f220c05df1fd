#!/usr/bin/env bash
# make grade [SUBMISSION=dir] [OUT=dir]: judges the exercise of every lab by the grading manifest
# (tests/grading/manifest.json) and writes OUT/results.json (Gradescope) and OUT/junit.xml.
#
# Without SUBMISSION: this tree's exercises. With SUBMISSION: a student's copy of the kit, of which
# only the exercise files (labs/*/exercise.hpp) are taken, laid over a fresh handout of this tree
# (no solutions/ in it to include), so nothing else of theirs is compiled. Each lab is built on its
# own, so one that does not compile costs only its own points.
#
# LABS=race,deadlock grades only those labs. BUILDS=default skips the TSan build (its checks then
# fail with "no tsan build"): for a quick look, never for marks.
#
# Exit status: the grader's (0 every check passed, 1 some failed, 2 usage error).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
submission=${SUBMISSION:-}
out=${OUT:-$root/build/grade}
jobs=${JOBS:-$(nproc)}

usage() {
  echo "make grade: $1" >&2
  exit 2
}
if [ -n "$submission" ]; then
  [ -d "$submission" ] || usage "SUBMISSION=$submission: no such folder"
  [ -d "$submission/labs" ] || usage "SUBMISSION=$submission: has no labs/ folder (give the student's copy of the kit)"
  submission=$(cd "$submission" && pwd)
fi

for preset in ${BUILDS:-}; do
  [ "$preset" = default ] || [ "$preset" = tsan ] || usage "BUILDS=$BUILDS: the builds are default and tsan"
done

# The grader itself always comes from this tree's plain build, whatever the exercises hold.
# (GRADER names one already built: the tests do that, beside a build in use.)
cd "$root"
grader=${GRADER:-$root/build/default/bin/hazardlab-grade}
if [ -z "${GRADER:-}" ]; then
  bash scripts/configure.sh default >/dev/null
  cmake --build --preset default --target hazardlab-grade -j "$jobs" >/dev/null
fi
only=()
[ -z "${LABS:-}" ] || only=(--labs "$LABS")
graded_labs=$("$grader" --list-labs "${only[@]}") || exit $? # a lab it does not know: its one-line error
mkdir -p "$out"
out=$(cd "$out" && pwd)

tree=$root
if [ -n "$submission" ]; then
  # The tree is kept between submissions (its build/ too, so only what changed is compiled again);
  # everything else in it is replaced by a fresh handout.
  tree=$out/tree
  mkdir -p "$tree"
  find "$tree" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
  rmdir "$tree/build" 2>/dev/null || true
  staging=$(mktemp -d "$out/handout.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  bash "$root/scripts/handout.sh" "$staging/kit" 2>/dev/null
  (cd "$staging/kit" && tar -cf - .) | (cd "$tree" && tar -xf -)
fi

not_built=()
labs=()
while read -r lab dir; do
  labs+=("$lab")
  exercise=labs/$dir/exercise.hpp
  if [ -n "$submission" ]; then
    if [ -f "$submission/$exercise" ]; then
      cp "$submission/$exercise" "$tree/$exercise"
    else
      echo "grade: $lab: the submission has no $exercise; the untouched one is judged" >&2
    fi
    # A fresh modification time, so that the build never takes this file for the last
    # submission's, whatever times the copies carried.
    touch "$tree/$exercise"
  fi
done <<<"$graded_labs"

builds=${BUILDS:-default tsan}
bin_dirs=()
for preset in $builds; do
  bin_dirs+=(--bin-dir "$preset=$tree/build/$preset/bin")
  echo "grade: building the labs ($preset)" >&2
  submission_options=()
  if [ "$tree" != "$root" ]; then
    # The submission's tree has this tree's core, untouched (only exercises are taken): this
    # tree's build of it is linked there, rather than compiled once more per submission.
    [ -f "$root/build/$preset/CMakeCache.txt" ] || bash "$root/scripts/configure.sh" "$preset" >/dev/null
    cmake --build --preset "$preset" --target hazardlab_core -j "$jobs" >/dev/null
    submission_options=(-DHAZARDLAB_CORE_LIBRARY="$root/build/$preset/common/libhazardlab_core.a")
    # Built to be judged, not timed: -O1 with line tables (what the tsan preset uses) compiles a
    # lab in half the time of -O2 -g, and a correct exercise is correct at any optimization.
    submission_options+=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
  fi
  (cd "$tree" && bash "$root/scripts/configure.sh" "$preset" "${submission_options[@]}" >/dev/null)
  [ ${#submission_options[@]} -gt 0 ] || (cd "$tree" && cmake --build --preset "$preset" --target hazardlab_core -j "$jobs" >/dev/null)
  for lab in "${labs[@]}"; do
    log=$out/build-$lab.log
    [ "$preset" != "${builds%% *}" ] || : >"$log"
    grep -q "^# did not compile" "$log" && continue # nothing to try again in the other build
    if ! (cd "$tree" && cmake --build --preset "$preset" --target "$lab" -j "$jobs") >>"$log" 2>&1; then
      echo "# did not compile ($preset)" >>"$log"
      not_built+=(--not-built "$lab=$log")
      echo "grade: $lab did not compile; see $log" >&2
    fi
  done
done

status=0
"$grader" "${bin_dirs[@]}" "${not_built[@]}" "${only[@]}" \
  --results "$out/results.json" --junit "$out/junit.xml" "$@" || status=$?
[ $status -eq 2 ] || echo "grade: reports in $out/results.json (Gradescope) and $out/junit.xml (JUnit)" >&2
exit $status
