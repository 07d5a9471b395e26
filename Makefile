# OneBank Editions: one plain Makefile.
#
#   make            build editionc and editiond (release flags, build/)
#   make run        install what is missing, build, compile the six editions, serve them
#   make check      install what is missing, build under ASan+UBSan (build-check/), run every test
#   make bench      side-by-side benchmarks (bench/)
#   make fuzz       libFuzzer targets (clang)
#
# Sources are found by wildcard; every object has a -MMD dependency file.

CC      ?= gcc
PKGS    := yaml-0.1 libxml-2.0 lua5.4 zlib libsodium jansson libmicrohttpd sqlite3 hiredis libcurl
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
           -Wpointer-arith -Wvla -Wno-unused-parameter
CSTD    := -std=c17 -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

MODE    ?= release
ifeq ($(MODE),check)
  BUILD := build-check
  OPT   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
  BUILD := build
  OPT   := -O2 -g
endif
CFLAGS  += $(CSTD) $(OPT) $(WARN) -Icompiler -Iruntime $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(OPT)

COMPILER_SRC := $(filter-out compiler/main.c,$(wildcard compiler/*.c))
RUNTIME_SRC  := $(filter-out runtime/main.c,$(wildcard runtime/*.c))
TEST_SRC     := $(wildcard tests/test_*.c)

COMPILER_OBJ := $(COMPILER_SRC:%.c=$(BUILD)/%.o)
RUNTIME_OBJ  := $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
# The runtime links the shared pack reader and the buffer/JSON helpers, never the compiler phases.
SHARED_OBJ   := $(addprefix $(BUILD)/compiler/,pack.o strbuf.o)
TEST_OBJ     := $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/runner.o

EDITIONC := $(BUILD)/editionc
EDITIOND := $(BUILD)/editiond
UNITTEST := $(BUILD)/unit-tests

DEBIAN_PKGS := build-essential pkg-config libyaml-dev libxml2-dev libxml2-utils liblua5.4-dev lua5.4 \
               zlib1g-dev check libmicrohttpd-dev libsqlite3-dev libhiredis-dev libcurl4-openssl-dev \
               libsodium-dev libjansson-dev
# What the tests start or drive: Redis, nginx, headless Chromium (with CJK fonts for readable screenshots).
TEST_PKGS   := redis-server nginx curl chromium chromium-driver fonts-wqy-microhei
BENCH_PKGS  := nginx libnginx-mod-http-lua lua-cjson wrk hyperfine valgrind

.PHONY: all run check deps bench bench-compile fuzz clean editions unit integration golden cli scale backend reload security fuzz-regress browser

all: $(EDITIONC) $(EDITIOND)

# Install the Debian packages that are missing (apt-get as root, sudo otherwise).
deps:
	@missing=""; for p in $(DEBIAN_PKGS) $(EXTRA_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(EDITIONC): $(COMPILER_OBJ) $(BUILD)/compiler/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(EDITIOND): $(RUNTIME_OBJ) $(SHARED_OBJ) $(BUILD)/runtime/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The unit-test runner is generated from the suites the test files export.
$(BUILD)/tests/runner.c: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@{ echo '#include <check.h>'; echo '#include <stdlib.h>'; \
	  for s in $$(grep -ho 'Suite \*suite_[a-z0-9_]*(void)' $(TEST_SRC) | sed 's/Suite \*\(suite_[a-z0-9_]*\)(void)/\1/' | sort -u); do \
	    echo "Suite *$$s(void);"; done; \
	  echo 'int main(void) {'; echo '  SRunner *sr = srunner_create(NULL);'; \
	  for s in $$(grep -ho 'Suite \*suite_[a-z0-9_]*(void)' $(TEST_SRC) | sed 's/Suite \*\(suite_[a-z0-9_]*\)(void)/\1/' | sort -u); do \
	    echo "  srunner_add_suite(sr, $$s());"; done; \
	  echo '  srunner_run_all(sr, CK_NORMAL);'; echo '  int failed = srunner_ntests_failed(sr);'; \
	  echo '  srunner_free(sr);'; echo '  return failed ? EXIT_FAILURE : EXIT_SUCCESS;'; echo '}'; } > $@

$(BUILD)/tests/runner.o: $(BUILD)/tests/runner.c
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(UNITTEST): $(TEST_OBJ) $(COMPILER_OBJ) $(RUNTIME_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs check)

editions: $(EDITIONC)
	$(EDITIONC) build editions -o output

run: deps
	$(MAKE) all
	$(EDITIONC) build editions -o output
	@if [ -x $(EDITIOND) ]; then \
	  echo "serving the six editions on http://127.0.0.1:8080 (Ctrl-C stops)"; \
	  exec $(EDITIOND) --packs output --listen 127.0.0.1:8080 --data $${DATA:-output/data}; \
	fi

# make check: every test under AddressSanitizer and UndefinedBehaviorSanitizer.
check:
	$(MAKE) deps EXTRA_PKGS="$(TEST_PKGS)"
	$(MAKE) MODE=check unit golden cli fuzz-regress integration security reload scale backend browser
	@echo "make check: all test groups passed"

unit: $(UNITTEST)
	CK_DEFAULT_TIMEOUT=120 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(UNITTEST)

golden: $(EDITIONC)
	EDITIONC=$(EDITIONC) bash tests/golden/run.sh

cli: $(EDITIONC)
	EDITIONC=$(EDITIONC) bash tests/cli/run.sh

integration: $(EDITIONC) $(EDITIOND)
	@if [ -f tests/integration/run.sh ]; then EDITIONC=$(EDITIONC) EDITIOND=$(EDITIOND) bash tests/integration/run.sh; fi

# Several instances: redis-server, two editiond and nginx; Redis killed and restarted under load.
scale: $(EDITIONC) $(EDITIOND)
	EDITIONC=$(EDITIONC) EDITIOND=$(EDITIOND) bash tests/scale/run.sh

# Backends over HTTP: breaker opening and closing, fallbacks, one bank shared by two instances.
backend: $(EDITIONC) $(EDITIOND)
	EDITIONC=$(EDITIONC) EDITIOND=$(EDITIOND) bash tests/backend/run.sh

# Reloads under a keep-alive load, a corrupt pack refused, canary and dual run, rollback.
reload: $(EDITIONC) $(EDITIOND)
	EDITIONC=$(EDITIONC) EDITIOND=$(EDITIOND) bash tests/reload/run.sh

# Attacks that must fail: fixation, CSRF, other customers' ids, injection, traversal, smuggling, sizes, slow clients, guessing, forged packs.
security: $(EDITIONC) $(EDITIOND)
	EDITIONC=$(EDITIONC) EDITIOND=$(EDITIOND) bash tests/security/run.sh

browser: $(EDITIONC) $(EDITIOND)
	EDITIONC=$(EDITIONC) EDITIOND=$(EDITIOND) bash tests/browser/run.sh

bench-compile: all
	bash bench/compile.sh $(EDITIONC)

bench:
	$(MAKE) deps EXTRA_PKGS="$(BENCH_PKGS)"
	$(MAKE) all
	bash bench/run.sh

# Every committed fuzz corpus input once through its target (gcc, ASan+UBSan; no clang needed).
fuzz-regress: $(EDITIONC)
	EDITIONC=$(EDITIONC) bash tests/fuzz/regress.sh

fuzz:
	$(MAKE) deps EXTRA_PKGS="clang libclang-rt-14-dev"
	bash tests/fuzz/run.sh

clean:
	rm -rf build build-check build-fuzz

-include $(shell find build build-check -name '*.d' 2>/dev/null)
