# hazardlab — a thin front over the CMake presets (CMakePresets.json).
#
#   make run                      the tour: every lab, every variant, every form, one table
#   make run LAB=race ARGS='--form process --variant broken'
#   make test                     build default + tsan, run every test of both
#   make tsan LAB=race ARGS=...   the lab built with ThreadSanitizer
#   make helgrind LAB=race ARGS=...  the lab under valgrind --tool=helgrind (debug build)
#   make grade [SUBMISSION=dir] [LABS=race,deadlock] [OUT=dir]
#                                 judge every lab's exercise (this tree's, or a student's copy);
#                                 reports in OUT, default build/grade (docs/instructor-guide.md)
#   make handout DEST=dir         the student distribution: everything but solutions/ and
#                                 instructor-only files
#   make plot [ARGS=...]          lab 06: threads-vs-processes --csv build/threads-vs-processes.csv
#                                 (if not there yet, or with ARGS), then gnuplot (installed if missing) draws
#                                 build/plots/speedup.png and speedup.svg
#   make clean
LAB ?=
ARGS ?=
SUBMISSION ?=
DEST ?=
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)

PRESETS := default tsan asan debug
BUILDS := $(addprefix build-,$(PRESETS))

.PHONY: deps run test tsan helgrind asan grade handout plot clean format $(BUILDS)

deps:
	@bash scripts/install-deps.sh

# Configure (cheap when nothing changed) and build one preset. A static pattern rule, because make
# never applies an ordinary pattern rule to a .PHONY target.
$(BUILDS): build-%: deps
	@cmake --preset $* >/dev/null
	@cmake --build --preset $* -j $(JOBS)

run: build-default
ifeq ($(LAB),)
	@build/default/bin/hazardlab-tour $(ARGS)
else
	@build/default/bin/$(LAB) $(ARGS)
endif

test: build-default build-tsan
	ctest --preset default -j $(JOBS) --timeout 300 --no-tests=error
	ctest --preset tsan -j $(JOBS) --timeout 300 --no-tests=error

tsan: build-tsan
	@test -n "$(LAB)" || { echo "make tsan: say which lab, e.g. make tsan LAB=race ARGS='--variant broken'" >&2; exit 2; }
	@build/tsan/bin/$(LAB) $(ARGS)

asan: build-asan
	@test -n "$(LAB)" || { echo "make asan: say which lab, e.g. make asan LAB=race" >&2; exit 2; }
	@build/asan/bin/$(LAB) $(ARGS)

helgrind: build-debug
	@test -n "$(LAB)" || { echo "make helgrind: say which lab, e.g. make helgrind LAB=race ARGS='--variant broken'" >&2; exit 2; }
	@valgrind --tool=helgrind --suppressions=scripts/helgrind.supp build/debug/bin/$(LAB) $(ARGS)

# Builds what it needs itself, lab by lab, so that one exercise that does not compile costs only
# its own lab's points.
grade: deps
	@SUBMISSION="$(SUBMISSION)" bash scripts/grade.sh $(ARGS)

handout:
	@bash scripts/handout.sh "$(DEST)"

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build

# Lab 06's chart of speed-up against workers. The experiment runs when its CSV is missing or ARGS
# are given (otherwise the last measurement is drawn again); gnuplot-nox is installed on first use.
PLOT_CSV ?= build/threads-vs-processes.csv
PLOT_DIR ?= build/plots
plot: build-default
	@if [ -n "$(ARGS)" ] || [ ! -f $(PLOT_CSV) ]; then build/default/bin/threads-vs-processes --csv $(PLOT_CSV) $(ARGS); fi
	@command -v gnuplot >/dev/null || bash scripts/install-deps.sh gnuplot-nox
	@mkdir -p $(PLOT_DIR)
	@gnuplot -e "csv='$(PLOT_CSV)'; outdir='$(PLOT_DIR)'" labs/06-threads-vs-processes/plot.gp
