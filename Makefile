# Thin wrapper over CMake + ctest. See README.md.
JOBS      ?= 2
BUILD     ?= build
ASAN      ?= build-asan
FUZZ_TIME ?= 30
PREFIX    ?= /usr/local

# make install PREFIX=/usr/local DESTDIR=/tmp/stage: library (libtern.a,
# libtern.so), headers, tern.pc, tern-server and tern-client.
.PHONY: all deps configure build test install asan fuzz-smoke fuzz check bench bench-compare demo evidence clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest -j$(JOBS) --output-on-failure

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# clang build with ASan+UBSan; also holds the libFuzzer targets.
$(ASAN)/CMakeCache.txt:
	cmake -S . -B $(ASAN) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	      -DTERN_SANITIZE=ON -DTERN_FUZZ=ON

asan: $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j$(JOBS)
	cd $(ASAN) && ctest -j$(JOBS) --output-on-failure

fuzz-smoke: $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j$(JOBS)
	bash scripts/fuzz.sh $(ASAN)/fuzz $(FUZZ_TIME)

fuzz: $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j$(JOBS)
	bash scripts/fuzz.sh $(ASAN)/fuzz $${FUZZ_TIME:-600}

# Installs what is missing, builds with gcc and clang, runs every test
# (plain and ASan/UBSan) and a short run of each fuzzer.
check: deps
	$(MAKE) test
	$(MAKE) asan
	$(MAKE) fuzz-smoke

bench: build
	bash bench/run.sh $(BUILD)

# tern-server/tern-client vs gtlsserver/gtlsclient on loopback: 1 GiB
# downloads, handshakes, idle memory (bench/compare.sh; SIZE_MB, N, HS_N...).
bench-compare: build
	bash bench/compare.sh $(BUILD)

# tern-server + tern-client on 127.0.0.1: a generated 200 MB file downloaded,
# checked with sha256, summary printed (scripts/demo.sh).
demo: deps
	$(MAKE) build
	bash scripts/demo.sh $(BUILD)

# The experiments of docs/evidence.md in the simulator: CSV and PNG files in
# evidence/out/, figures and results in docs/evidence/, docs/evidence.md
# regenerated. E=name runs one (frag wf censor drain abuse cost); QUICK=1
# the small versions (into evidence/out-quick/, docs untouched; also run by
# ctest -L evidence).
evidence: build
	bash evidence/run.sh $(if $(QUICK),--quick) $(BUILD) $(E)

clean:
	rm -rf $(BUILD) $(ASAN)
