# attestd - a thin front for meson + ninja. See README.md.
#   make run    set up, build, run attestd on https://127.0.0.1:8443 (state in ./var);
#               ADDR=... PORT=... listen elsewhere
#   make test   set up, build with ASan + UBSan (and TSan for the daemon), run every test
#   make build  release build into build/ (build/attestd, build/attestctl)
#   make demo   release build, then attest end to end with a demo provider (scripts/demo.sh)
#   make deb    the Debian package into build-deb/ (scripts/deb.sh; docs/install.md)
#   make fuzz   libFuzzer targets into build-fuzz/ (clang), short run of each
#   make bench  benchmarks (never part of make test)

BUILD      ?= build
TEST_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
DATA_DIR   ?= var
ADDR       ?= 127.0.0.1
PORT       ?= 8443

.PHONY: all deps build run demo deb test fuzz bench format clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	@meson setup $(BUILD) --buildtype=release -Dtests=false > $(BUILD).setup.log \
	  || { cat $(BUILD).setup.log; exit 1; }

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)

run: build
	@scripts/run.sh $(BUILD) $(DATA_DIR) $(ADDR) $(PORT)

demo: build
	@scripts/deps.sh --demo
	@scripts/demo.sh $(BUILD)

deb:
	@scripts/deps.sh --deb
	@scripts/deb.sh build-deb

test:
	@scripts/deps.sh --test
	@scripts/test.sh $(TEST_BUILD) $(TSAN_BUILD)

fuzz:
	@scripts/deps.sh --test
	@scripts/fuzz.sh $(FUZZ_BUILD)

bench:
	@scripts/deps.sh --test --bench
	@scripts/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) build-bench build-deb
