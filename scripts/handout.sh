#!/usr/bin/env bash
# make handout DEST=dir: writes the student distribution of the kit to DEST, everything but the
# instructor-only files below, ready to build (the labs build without solutions/; their fixed
# variants are then simply absent).
#
# The files are this checkout's tracked files as they are in the working tree, so an instructor's
# committed or uncommitted changes (points in the manifest, a reworded handout) go out with it.
set -euo pipefail

# Never handed out: the reference fixes, the grading guide, and the solved exercises the grading
# proofs submit.
INSTRUCTOR_ONLY=(solutions/ docs/instructor-guide.md tests/grading/submissions/)

usage() {
  echo "make handout: $1" >&2
  exit 2
}

dest=${1:-}
[ -n "$dest" ] || usage "DEST: say where the student distribution goes, e.g. make handout DEST=/tmp/hazardlab-student"
root=$(cd "$(dirname "$0")/.." && pwd)
[ ! -e "$dest" ] || [ -d "$dest" ] || usage "DEST=$dest: exists and is not a folder"
[ ! -d "$dest" ] || [ -z "$(ls -A "$dest")" ] || usage "DEST=$dest: is not empty (give a new or empty folder)"
case "$(cd "$(dirname "$dest")" 2>/dev/null && pwd)/" in
"$root"/*) [[ "$(cd "$(dirname "$dest")" && pwd)/" == "$root"/build/* ]] ||
  usage "DEST=$dest: is inside the kit itself (choose a folder outside it, or under build/)" ;;
esac
[ -d "$(dirname "$dest")" ] || usage "DEST=$dest: its parent folder does not exist"

cd "$root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files() { git ls-files -z --cached; }
else # a copy without git history, e.g. a handout handed out again
  files() { find . -path ./build -prune -o -path ./.git -prune -o -type f -print0 | sed -z 's|^\./||'; }
fi
keep() {
  while IFS= read -r -d '' file; do
    local skip=0
    for private in "${INSTRUCTOR_ONLY[@]}"; do
      [[ "$file" == "$private"* ]] && skip=1
    done
    [ $skip -eq 1 ] || [ ! -f "$file" ] || printf '%s\0' "$file"
  done
}

mkdir -p "$dest"
# tar keeps modes and modification times (the grader relies on unchanged files keeping theirs).
files | keep | tar --null --files-from=- -cf - | tar -xf - -C "$dest"
echo "handout: $(find "$dest" -type f | wc -l) files in $dest (without: ${INSTRUCTOR_ONLY[*]})" >&2
