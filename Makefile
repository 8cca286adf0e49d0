# The front door. On a fresh Debian 12 machine, from a clone:
#
#   make demo      installs what the build and samples/tour.md need,
#                  builds, renders samples/tour.md
#   make test      installs what the build and the tests need, builds
#                  with the tests, runs every test (ctest)
#
# and besides:
#
#   make, make build
#                  configures and builds with CMake in $(BUILD); installs
#                  nothing (CMake names the Debian package of anything
#                  missing). The unit tests are built when Criterion is
#                  installed: without it the build leaves them out
#                  (-DMDRUN_TESTS=OFF), and `make test` turns them back on
#                  in the same build folder.
#   make deps      installs the packages the build needs, nothing else
#   make samples   installs what every sample needs (each names its
#                  packages in a `<!-- needs: ... -->` line at its top),
#                  builds, renders samples/ into $(BUILD)/samples/
#   make install   builds, then cmake --install into $(DESTDIR)$(PREFIX)
#                  (PREFIX=/usr/local; DESTDIR for staging)
#   make deb       builds, installs what CPack needs (dpkg-dev, file),
#                  makes a Debian package in $(BUILD)/, prints its path
#   make bench     the benchmarks against their baselines and the peers
#                  (bench/RESULTS.md)
#   make fuzz      the libFuzzer targets, FUZZ_SECONDS each, in build-fuzz/
#   make clean
#
# Packages are installed with apt-get install --no-install-recommends:
# only those missing (nothing, and no output, when all are there), after
# one line saying which and what for, with apt's own output. The .deb
# files apt downloads are deleted once installed, as `apt install` does.
# As root, or through sudo (which asks for a password on a terminal);
# without either (no sudo, or sudo needs a password and there is no
# terminal) make prints the command to run and stops.
#
# Variables: BUILD (build), CMAKE_FLAGS, JOBS, PREFIX, DESTDIR,
# FUZZ_SECONDS, BENCH_FLAGS.

BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
DESTDIR ?=

# Debian packages the build needs (CMakeLists.txt's pkg-config modules).
BUILD_PACKAGES = gcc libc6-dev make cmake pkg-config git \
	libcmark-gfm-dev libcmark-gfm-extensions-dev \
	libcjson-dev libgit2-dev libssl-dev libsqlite3-dev libzmq3-dev

# What samples/tour.md needs on top: its blocks are sh and python (no
# imports).
DEMO_PACKAGES = python3

# What the tests need on top: Criterion for the unit suites, the rest for
# end-to-end scripts (those whose tool is missing are skipped, "Not Run").
TEST_PACKAGES = libcriterion-dev python3 python3-matplotlib python3-pandas \
	cmark-gfm sqlite3 chromium python3-nbformat valgrind procps \
	python3-ipykernel r-cran-irkernel r-cran-knitr strace pre-commit \
	python3-yaml zsh fish mandoc man-db debootstrap

# The samples, and what they need: the packages each names in its
# `<!-- needs: ... -->` line.
SAMPLES = $(wildcard samples/*.md samples/languages/*.md)
SAMPLE_PACKAGES = $(sort python3 $(shell sed -n \
	's/^<!-- needs: \(.*\) -->$$/\1/p' $(SAMPLES)))

# What `make bench` needs on top: the peers it compares with (Jupyter,
# knitr) and callgrind.
BENCH_PACKAGES = valgrind jupyter-nbconvert python3-ipykernel \
	r-base-core r-cran-knitr r-cran-codetools

# What `make deb` needs on top: CPack's DEB generator runs dpkg-shlibdeps
# (dpkg-dev) on the binaries it finds with file.
DEB_PACKAGES = dpkg-dev file

# What `make fuzz` needs on top: clang and its libFuzzer runtime.
FUZZ_PACKAGES = clang libclang-rt-14-dev

.PHONY: all deps build demo samples test install deb bench fuzz clean

all: build

# $(call apt_install,WHY,PACKAGES[,WHY2,PACKAGES2]): installs the packages of
# those lists that are not installed, after a line saying which and what
# for ("mdrun: installing for the build: ...; for the tests: ..."). Quick
# and silent when everything is there.
define apt_install
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "mdrun: not a Debian system; install the equivalents of: $(2) $(4)"; \
		exit 0; \
	fi; \
	missing() { \
		for p in "$$@"; do \
			[ "$$(dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null)" = installed ] || \
				printf ' %s' "$$p"; \
		done; \
	}; \
	m1=$$(missing $(2)); m2=$$(missing $(4)); \
	[ -n "$$m1$$m2" ] || exit 0; \
	cmd="apt-get install --no-install-recommends$$m1$$m2"; \
	if [ "$$(id -u)" = 0 ]; then \
		sudo=; \
	elif ! command -v sudo >/dev/null 2>&1; then \
		echo "mdrun: need root to install packages; run: su -c '$$cmd'"; \
		exit 1; \
	elif sudo -n true 2>/dev/null || [ -t 0 ]; then \
		sudo=sudo; \
	else \
		echo "mdrun: need root to install packages; run: sudo $$cmd"; \
		exit 1; \
	fi; \
	msg=; \
	[ -z "$$m1" ] || msg="for $(1):$$m1"; \
	[ -z "$$m2" ] || msg="$${msg:+$$msg; }for $(3):$$m2"; \
	echo "mdrun: installing $$msg"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive $$cmd -y \
		-o APT::Keep-Downloaded-Packages=false
endef

# $(call cmake_build,FLAGS): configures (with FLAGS, then CMAKE_FLAGS) and
# builds in $(BUILD). CMake's errors, and its hints about missing
# packages, go to stderr.
define cmake_build
	@cmake -S . -B $(BUILD) $(1) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory -s
endef

# Without Criterion, CMake would stop at the tests: leave them out.
NO_TESTS_IF_NO_CRITERION = \
	$$(pkg-config --exists criterion 2>/dev/null || echo -DMDRUN_TESTS=OFF)

deps:
	$(call apt_install,the build,$(BUILD_PACKAGES))

build:
	$(call cmake_build,$(NO_TESTS_IF_NO_CRITERION))

demo:
	$(call apt_install,the build,$(BUILD_PACKAGES),samples/tour.md,$(DEMO_PACKAGES))
	$(call cmake_build,$(NO_TESTS_IF_NO_CRITERION))
	@$(BUILD)/mdrun render samples/tour.md
	@echo "mdrun: that was samples/tour.md; 'make samples' renders the others (pandas, matplotlib, R, ...) into $(BUILD)/samples/"

samples:
	$(call apt_install,the build,$(BUILD_PACKAGES),the samples,$(SAMPLE_PACKAGES))
	$(call cmake_build,$(NO_TESTS_IF_NO_CRITERION))
	@status=0; \
	for f in $(SAMPLES); do \
		out=$(BUILD)/$$f; \
		mkdir -p "$$(dirname "$$out")" || exit 1; \
		if $(BUILD)/mdrun render -q "$$f" -o "$$out"; then \
			echo "mdrun: $$f rendered in $$out"; \
		else \
			echo "mdrun: $$f failed (see $$out)"; status=1; \
		fi; \
	done; \
	exit $$status

test:
	$(call apt_install,the build,$(BUILD_PACKAGES),the tests,$(TEST_PACKAGES))
	$(call cmake_build,-DMDRUN_TESTS=ON)
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# cmake --install honours DESTDIR from the environment.
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# CPack's configuration is in CMakeLists.txt; the package lands in $(BUILD)/.
deb: build
	$(call apt_install,the .deb,$(DEB_PACKAGES))
	@cd $(BUILD) && cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }
	@sed -n 's/^CPack: - package: \(.*\) generated\.$$/mdrun: made \1/p' \
		$(BUILD)/cpack.log

# W1-W7 against their baselines and the peers; the report goes to
# bench/RESULTS.md. BENCH_FLAGS=--quick for a short check of the harness.
bench:
	$(call apt_install,the build,$(BUILD_PACKAGES),the benchmarks,$(BENCH_PACKAGES))
	$(call cmake_build,$(NO_TESTS_IF_NO_CRITERION))
	@bench/bench.sh $(BUILD) $(BENCH_FLAGS) >$(BUILD)/RESULTS.md
	@cp $(BUILD)/RESULTS.md bench/RESULTS.md
	@cat bench/RESULTS.md

# The libFuzzer targets (tests/fuzz/), each for FUZZ_SECONDS (default 60),
# in a clang build of their own (build-fuzz/).
fuzz:
	$(call apt_install,the build,$(BUILD_PACKAGES),the fuzzers,$(FUZZ_PACKAGES))
	@tests/fuzz/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
