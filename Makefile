# Thin wrapper over CMake: `make examples` and `make test` are the README's quick start.
# Each first installs the Debian packages that are missing (as root), or says which to install.

BENCH_PACKAGES := python3 python3-uvloop libasio-dev libuv1-dev gnuplot-nox
PACKAGES := g++ clang clang-19 libclang-rt-19-dev cmake make pkg-config catch2 libfmt-dev liburing-dev
JOBS ?= $(shell nproc)
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN := -fsanitize=thread -fno-omit-frame-pointer
EXAMPLES := 01_coroutine_object 02_await 03_run 04_sleep_concurrency 05_async_with \
            06_task_group 07_blocking_vs_async 08_sync_vs_async

.PHONY: all deps deps-bench examples test test-release test-sanitize test-clang test-tsan bench clean

all: test

# Installs the Debian packages of $(1) that are missing (as root), or says which to install.
define install_missing
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" -ne 0 ]; then \
	        echo "corio needs these Debian packages; as root run:"; \
	        echo "  apt-get update && apt-get install -y$$missing"; \
	        exit 1; \
	    fi; \
	    echo "installing:$$missing"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi
endef

deps:
	$(call install_missing,$(PACKAGES))

# The peers the benchmark suite measures corio against; make bench skips a missing one
# with a line naming its package.
deps-bench:
	$(call install_missing,$(BENCH_PACKAGES))

build/release/CMakeCache.txt: | deps
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release

examples: deps build/release/CMakeCache.txt
	cmake --build build/release -j $(JOBS) --target examples
	@for e in $(EXAMPLES); do \
	    echo; echo "=== $$e ==="; \
	    build/release/examples/$$e || exit 1; \
	done

# Every test, in Release with g++, then with g++ at -O0 under AddressSanitizer and
# UndefinedBehaviorSanitizer (where the stack-safety test of task<T> can fail), then in
# Release with clang++ 14, then with clang++ 19 under ThreadSanitizer (call_soon_threadsafe
# and the other cross-thread paths). Every build uses -Wall -Wextra -Wpedantic -Werror.
test: test-release test-sanitize test-clang test-tsan

test-release: deps build/release/CMakeCache.txt
	cmake --build build/release -j $(JOBS)
	ctest --test-dir build/release --output-on-failure -j $(JOBS)

test-sanitize: deps
	cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ \
	    -DCMAKE_CXX_FLAGS="$(SANITIZE)" -DCMAKE_EXE_LINKER_FLAGS="$(SANITIZE)"
	cmake --build build/sanitize -j $(JOBS)
	ctest --test-dir build/sanitize --output-on-failure -j $(JOBS)

test-clang: deps
	cmake -S . -B build/clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++
	cmake --build build/clang -j $(JOBS)
	ctest --test-dir build/clang --output-on-failure -j $(JOBS)

test-tsan: deps
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
	    -DCMAKE_CXX_FLAGS="$(TSAN)" -DCMAKE_EXE_LINKER_FLAGS="$(TSAN)"
	cmake --build build/tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure -j $(JOBS)

# Every workload with every implementation found, interleaved, median of 3 (bench/run.py);
# QUICK=1 is a reduced run of about a minute. Configuring again finds a peer
# installed since the last run.
bench: deps build/release/CMakeCache.txt
	cmake -S . -B build/release >/dev/null
	cmake --build build/release -j $(JOBS) --target bench -- --no-print-directory
	bench/run.py build/release $(if $(QUICK),--quick)

clean:
	rm -rf build
