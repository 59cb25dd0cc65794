# ntplab: two commands do everything on a fresh Debian 12 machine.
#   make demo    install what is missing, build, replay the seed incident (report + plots)
#   make check   install what is missing, build, run every test tier
# Everything else is plain CMake under build/.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20
PYTHON     ?= /usr/bin/python3

.PHONY: all deps build asan demo install deb check check-unit check-quick check-asan check-fuzz check-interop format clean

all: build

deps:
	@./scripts/install-deps.sh $(BUILD)/daemons

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Asan >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

demo: build
	@./scripts/demo.sh $(BUILD)

# `cmake --install` (PREFIX=/usr etc.; DESTDIR works as usual) and the .deb
# (built in $(BUILD)/pkg with prefix /usr, as tests/install/test_package.sh does).
# The prefix is set at configure time: the unit file and /etc paths follow it.
PREFIX ?= /usr/local
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cmake --install $(BUILD)

deb: deps
	cmake -S . -B $(BUILD)/pkg -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	cmake --build $(BUILD)/pkg -j$(JOBS)
	cd $(BUILD)/pkg && cpack -G DEB

check: build asan
	@./scripts/check.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS)

# One tier of `make check` each (scripts/check.sh names them); `check-quick`
# is the seconds-long loop while editing: unit tests and every scenario.
check-unit: build
	@./scripts/check.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS) unit

check-quick: build
	@./scripts/check.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS) unit ctest

check-asan: asan
	@./scripts/check.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS) asan

check-fuzz: deps
	@./scripts/check.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS) fuzz

check-interop: build
	@./scripts/check.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS) interop

format:
	./scripts/format.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
