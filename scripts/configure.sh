#!/usr/bin/env bash
# Configures one preset of the tree in the current folder: cmake --preset PRESET [ARGS...].
# The presets build with Ninja, which starts a lab's compilation before the core it links is done
# (make's generator waits target by target; on 2 cores that left one idle for much of a build). A
# build folder configured by an older kit with another generator is removed first: CMake will not
# change the generator of a folder in place.
set -euo pipefail
preset=$1
shift
cache=build/$preset/CMakeCache.txt
if [ -f "$cache" ] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$cache"; then
  rm -rf "build/$preset"
fi
exec cmake --preset "$preset" "$@"
