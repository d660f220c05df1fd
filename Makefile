# hazardlab — a thin front over the CMake presets (CMakePresets.json). Each target builds only
# what it runs, quietly (one line per step; the compiler's messages only when a build fails, the
# whole log in build/build-PRESET.log).
#
#   make run                      the tour: every lab, every variant, every form, forced and natural,
#                                 one table (builds the tour and the labs, no tests)
#   make run LAB=race ARGS='--form process --variant broken'    builds and runs that lab only
#   make test                     build default + tsan with their tests, run every test of both
#                                 (ctest --preset default -L quick: the developers' quick loop)
#   make tsan LAB=race ARGS=...   the lab built with ThreadSanitizer (that lab only)
#   make asan LAB=race ARGS=...   the lab built with AddressSanitizer + UBSan (that lab only)
#   make helgrind LAB=race ARGS=...  the lab under valgrind --tool=helgrind (debug build, that lab only)
#   make grade [SUBMISSION=dir] [LABS=race,deadlock] [OUT=dir]
#                                 judge every lab's exercise (this tree's, or a student's copy);
#                                 reports in OUT, default build/grade (docs/instructor-guide.md)
#   make handout DEST=dir         the student distribution: everything but solutions/ and
#                                 instructor-only files
#   make plot [ARGS=...]          lab 06: threads-vs-processes --csv build/threads-vs-processes.csv
#                                 (if not there yet, or with ARGS), then gnuplot (installed if missing) draws
#                                 build/plots/speedup.png and speedup.svg
#   make clean
# An unknown LAB, or none where one is needed, is one line and exit 2, before anything is built.
LAB ?=
ARGS ?=
SUBMISSION ?=
DEST ?=
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)
# One test more than cores: a test spends part of its time starting and waiting for the lab
# processes it runs (ctest -j2 kept 1.6 of 2 cores busy). Every test holds under load.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))

# The lab programs, one place: the labs CMakeLists.txt adds (hazardlab_add_lab), and lab 06.
LABS := $(shell sed -n 's/^hazardlab_add_lab.NAME \([^ ]*\) .*/\1/p' CMakeLists.txt) threads-vs-processes
comma := ,
empty :=
space := $(empty) $(empty)

# LAB is checked before anything is built: one line, exit 2.
ifneq ($(LAB),)
  ifeq ($(filter $(LAB),$(LABS)),)
    $(error LAB=$(LAB): no such lab (the labs: $(subst $(space),$(comma) ,$(LABS))))
  endif
else ifneq ($(filter tsan asan helgrind,$(MAKECMDGOALS)),)
  $(error make $(filter tsan asan helgrind,$(MAKECMDGOALS)): say which lab, e.g. LAB=race ARGS='--variant broken' (the labs: $(subst $(space),$(comma) ,$(LABS))))
endif

.PHONY: deps run test tsan helgrind asan grade handout plot clean format

deps:
	@bash scripts/install-deps.sh

# $(call build,PRESET,TARGETS,WHAT): configure (cheap when nothing changed) and build only TARGETS,
# in one line; the compiler's messages are shown only when it fails (the whole log stays in build/).
define build
	@mkdir -p build
	@echo "make: building $(3) ($(1) build)"
	@bash scripts/configure.sh $(1) >build/configure-$(1).log 2>&1 || { cat build/configure-$(1).log >&2; exit 1; }
	@cmake --build --preset $(1) --target $(2) -j $(JOBS) >build/build-$(1).log 2>&1 || { \
	  grep -v -E '^\[ *[0-9]+(%|/[0-9]+)\]|^ *$$' build/build-$(1).log >&2; \
	  echo "make: the build failed (the whole log: build/build-$(1).log)" >&2; exit 1; }
endef

# A program run under a sanitizer: its exit status kept, and 66 (ThreadSanitizer's, when it
# reported) explained. $(call sanitized,BUILD_DIR,TOOL)
define sanitized
	@status=0; $(1)/bin/$(LAB) $(ARGS) || status=$$?; \
	if [ $$status -eq 66 ]; then echo "make: exit 66 is $(2)'s: it reported a data race or another error above (README: When make tsan says Error 66)" >&2; fi; \
	exit $$status
endef

run: deps
ifeq ($(LAB),)
	$(call build,default,hazardlab-programs,the tour and the labs)
	@build/default/bin/hazardlab-tour $(ARGS)
else
	$(call build,default,$(LAB),$(LAB))
	@build/default/bin/$(LAB) $(ARGS)
endif

test: deps
	$(call build,default,all,everything with its tests)
	$(call build,tsan,all,everything with its tests)
	ctest --preset default -j $(TEST_JOBS) --timeout 300 --no-tests=error
	ctest --preset tsan -j $(TEST_JOBS) --timeout 300 --no-tests=error

tsan: deps
	$(call build,tsan,$(LAB),$(LAB))
	$(call sanitized,build/tsan,ThreadSanitizer)

asan: deps
	$(call build,asan,$(LAB),$(LAB))
	@build/asan/bin/$(LAB) $(ARGS)

helgrind: deps
	$(call build,debug,$(LAB),$(LAB))
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
plot: deps
	$(call build,default,threads-vs-processes,threads-vs-processes)
	@if [ -n "$(ARGS)" ] || [ ! -f $(PLOT_CSV) ]; then build/default/bin/threads-vs-processes --csv $(PLOT_CSV) $(ARGS); fi
	@command -v gnuplot >/dev/null || bash scripts/install-deps.sh gnuplot-nox
	@mkdir -p $(PLOT_DIR)
	@gnuplot -e "csv='$(PLOT_CSV)'; outdir='$(PLOT_DIR)'" labs/06-threads-vs-processes/plot.gp
