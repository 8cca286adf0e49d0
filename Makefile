# The front door: `make demo` and `make test` do all the set-up on a fresh
# Debian machine (missing packages are installed with apt-get, as root or
# through sudo), then build with CMake in $(BUILD).

BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages the build, the tests and the samples need.
PACKAGES = gcc libc6-dev make cmake pkg-config git python3 python3-matplotlib \
	python3-pandas \
	libcmark-gfm-dev libcmark-gfm-extensions-dev cmark-gfm \
	libcjson-dev libgit2-dev libcriterion-dev libssl-dev \
	libsqlite3-dev sqlite3 libzmq3-dev \
	chromium python3-nbformat valgrind procps python3-ipykernel r-cran-irkernel \
	r-cran-knitr strace

SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo test bench fuzz clean

all: build

# Packages only `make bench` needs: the peers it compares with (Jupyter,
# knitr) and callgrind.
BENCH_PACKAGES = valgrind jupyter-nbconvert python3-ipykernel \
	r-base-core r-cran-knitr r-cran-codetools

# Packages only `make fuzz` needs: clang and its libFuzzer runtime.
FUZZ_PACKAGES = clang libclang-rt-14-dev

# $(call install,PACKAGES): installs those missing; quick and silent when
# everything is there.
define install
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "mdrun: not a Debian system; install the equivalents of: $(1)"; \
	else \
		missing=$$(for p in $(1); do \
			dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
				grep -q '^install ok installed' || echo $$p; \
		done); \
		if [ -n "$$missing" ]; then \
			echo "mdrun: installing" $$missing; \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
		fi; \
	fi
endef

deps:
	$(call install,$(PACKAGES))

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory -s

demo: build
	@$(BUILD)/mdrun render samples/tour.md
	@mkdir -p $(BUILD)/demo
	@$(BUILD)/mdrun render -q samples/analysis.md -o $(BUILD)/demo/analysis.md
	@echo "mdrun: samples/analysis.md rendered, with its tables and figure, in $(BUILD)/demo/analysis.md"
	@$(BUILD)/mdrun render -q samples/r.md -o $(BUILD)/demo/r.md && \
		echo "mdrun: samples/r.md (R in IRkernel: a data frame, a model, a plot) in $(BUILD)/demo/r.md"

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# W1-W7 against their baselines and the peers; the report goes to
# bench/RESULTS.md. BENCH_FLAGS=--quick for a short check of the harness.
bench: build
	$(call install,$(BENCH_PACKAGES))
	@bench/bench.sh $(BUILD) $(BENCH_FLAGS) >$(BUILD)/RESULTS.md
	@cp $(BUILD)/RESULTS.md bench/RESULTS.md
	@cat bench/RESULTS.md

# The libFuzzer targets (tests/fuzz/), each for FUZZ_SECONDS (default 60),
# in a clang build of their own (build-fuzz/).
fuzz: deps
	$(call install,$(FUZZ_PACKAGES))
	@tests/fuzz/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
