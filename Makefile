# sitegate — see README.md.
#
#   make            build build/sitegate (optimised)
#   make run        install what is missing, build, start on conf/sitegate.json
#   make check      install what the tests need, build with ASan+UBSan, run every test
#   make bench      build optimised benchmarks and run them
#   make layers     check that includes look down and the pure code links nothing
#   make fuzz       build the libFuzzer targets with clang and run each a while
#   make install    install the binary and the default configuration (PREFIX, DESTDIR)
#   make deb        build build/sitegate_<version>_<arch>.deb (offline, debhelper)
#   make sim        build build/sitegate-sim, the simulated chargers (sim/)
#   make demo       a live depot: broker, gateway, 20 simulated chargers, an EMS
#
# Two build trees: build/ is optimised, build/asan/ carries the sanitizers and
# is what the tests run. Every .c under src/ (except src/main.c) and policy/
# goes into one static library per tree, so a unit test or benchmark is just
# tests/unit/test_<name>.c or tests/bench/bench_<name>.c linked against it:
# adding one needs no change here.

PKG_CONFIG ?= pkg-config
CC         ?= cc
PREFIX     ?= /usr/local
DESTDIR    ?=

PKGS = libevent libevent_openssl openssl libcjson sqlite3 libmosquitto

# Debian packages: to build and run; and in addition to test.
RUN_DEBS   = gcc libc6-dev make pkg-config libevent-dev libssl-dev libcjson-dev \
             libsqlite3-dev libmosquitto-dev libwslay-dev
CHECK_DEBS = $(RUN_DEBS) libcmocka-dev mosquitto openssl nodejs npm sqlite3 chromium
FUZZ_DEBS  = $(RUN_DEBS) clang libclang-rt-14-dev
# make deb: the Debian tools (build-essential: dpkg-buildpackage refuses to
# build without it, as a fresh root showed), systemd-analyze (the unit
# checks), man-db (the manual pages lintian reads); debootstrap and
# systemd-nspawn for the package's install test
# (tests/integration/package.test.js).
PKG_DEBS   = $(RUN_DEBS) build-essential debhelper dpkg-dev fakeroot lintian systemd man-db \
             debootstrap systemd-container
FUZZ_SECONDS ?= 30
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)

# Deferred (=) on purpose: pkg-config is asked only when something is
# compiled, after the deps target has had a chance to install it.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lwslay -lm

WARN     = -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes -Wshadow -Wwrite-strings -Wvla
BASE     = -std=gnu11 -D_GNU_SOURCE -g $(WARN) -Isrc -I. -MMD -MP
REL_OPT  = -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
SAN_OPT  = -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=all

SRCS     := $(sort $(shell find src -name '*.c' ! -path src/main.c))
POLICY   := $(sort $(wildcard policy/*.c))
LIBSRCS  := $(SRCS) $(POLICY)
UNITS    := $(sort $(wildcard tests/unit/test_*.c))
BENCHES  := $(sort $(wildcard tests/bench/bench_*.c))
TOOLS    := $(sort $(wildcard tests/tools/*.c))
FUZZERS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
SHIMS    := $(sort $(wildcard tests/shim/*.c))

REL_OBJS := $(LIBSRCS:%.c=build/obj/%.o)
SAN_OBJS := $(LIBSRCS:%.c=build/asan/obj/%.o)
UNIT_BIN := $(UNITS:tests/unit/%.c=build/asan/tests/%)
BENCH_BIN:= $(BENCHES:tests/bench/%.c=build/bench/%)
TOOL_BIN := $(TOOLS:tests/tools/%.c=build/asan/tools/%)
SHIM_SO  := $(SHIMS:tests/shim/%.c=build/shim/%.so)
FUZZ_OBJS:= $(LIBSRCS:%.c=build/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZERS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_OPT  = -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined

.PHONY: all run check bench fuzz deb deps deps-check npm-deps unit integration install clean \
	schema schema-check layers
all: build/sitegate

# One short line per step ("CC src/transport/ws.c", "AR ...", "LD ...";
# the sanitized and fuzz trees add "[asan]", "[fuzz]"); V=1 prints the
# full command lines instead. Only the echo of a command is hidden, never
# its output: the compiler's errors and warnings always show.
ifeq ($(V),1)
Q =
E = @:
else
Q = @
E = @printf '  %-3s %s\n'
endif

# ---------------------------------------------------------------- release
build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(BASE) $(REL_OPT) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/libsitegate.a: $(REL_OBJS)
	@rm -f $@
	$(E) AR $@
	$(Q)ar rcs $@ $^

build/sitegate: build/obj/src/main.o build/libsitegate.a
	$(E) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# ---------------------------------------------------------------- sanitized
build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(E) CC "$< [asan]"
	$(Q)$(CC) $(BASE) $(SAN_OPT) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/asan/libsitegate.a: $(SAN_OBJS)
	@rm -f $@
	$(E) AR $@
	$(Q)ar rcs $@ $^

build/asan/sitegate: build/asan/obj/src/main.o build/asan/libsitegate.a
	$(E) LD $@
	$(Q)$(CC) $(SAN_OPT) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/tests/%: tests/unit/%.c build/asan/libsitegate.a
	@mkdir -p $(@D)
	$(E) CC "$< [asan]"
	$(Q)$(CC) $(BASE) $(SAN_OPT) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< \
		build/asan/libsitegate.a $(PKG_LIBS) -lcmocka

# Small C programs the integration tests drive (e.g. our own OCPP client).
build/asan/tools/%: tests/tools/%.c build/asan/libsitegate.a
	@mkdir -p $(@D)
	$(E) CC "$< [asan]"
	$(Q)$(CC) $(BASE) $(SAN_OPT) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< \
		build/asan/libsitegate.a $(PKG_LIBS)

# LD_PRELOAD shims the integration tests put under the gateway (e.g.
# crashpoint: SIGKILL right after the k-th fsync). No sanitizer: they are
# loaded into the ASan binary, which they must not pull a second runtime into.
build/shim/%.so: tests/shim/%.c
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(BASE) -O2 -fPIC -shared $(CFLAGS) -o $@ $< -ldl

# ---------------------------------------------------------------- bench
build/bench/%: tests/bench/%.c build/libsitegate.a
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(BASE) $(REL_OPT) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< \
		build/libsitegate.a $(PKG_LIBS)

# ---------------------------------------------------------------- fuzz (clang)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(E) CC "$< [fuzz]"
	$(Q)clang $(BASE) -Wno-unknown-warning-option $(FUZZ_OPT) $(PKG_CFLAGS) -c $< -o $@

build/fuzz/libsitegate.a: $(FUZZ_OBJS)
	@rm -f $@
	$(E) AR $@
	$(Q)ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libsitegate.a
	$(E) CC "$< [fuzz]"
	$(Q)clang $(BASE) $(FUZZ_OPT) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< \
		build/fuzz/libsitegate.a $(PKG_LIBS)

# ---------------------------------------------------------------- commands
deps:
	@tools/deps.sh $(RUN_DEBS)

deps-check:
	@tools/deps.sh $(CHECK_DEBS)

# npm ci only when the lock file changed since the last install.
tests/node_modules/.package-lock.json: tests/package-lock.json tests/package.json
	cd tests && npm ci --no-audit --no-fund
	@touch $@
npm-deps: tests/node_modules/.package-lock.json

# The OCPP schema tables are generated from the schemas ocpp-rpc carries
# (tools/gen-schema.js with tools/schema-overlay.js) and committed. schema
# rewrites them; schema-check writes them into build/schema, fails with the
# difference when the committed ones are not what the generator writes.
SCHEMA_GEN = src/ocpp/schema_v16.c src/ocpp/schema_v201.c src/ocpp/schema_v21.c
schema: npm-deps
	node tools/gen-schema.js --out src/ocpp 1.6 2.0.1 2.1

schema-check: npm-deps
	@node tools/gen-schema.js --out build/schema 1.6 2.0.1 2.1 >/dev/null
	@for f in $(SCHEMA_GEN); do diff -u $$f build/schema/$${f##*/} || \
		{ echo "$$f: not what tools/gen-schema.js writes (make schema)"; \
		exit 1; }; done

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	./build/sitegate --config conf/sitegate.json

check: deps-check
	@$(MAKE) --no-print-directory -j$(JOBS) npm-deps schema-check \
		build/asan/sitegate \
		$(UNIT_BIN) $(TOOL_BIN) $(SHIM_SO) build/sitegate $(SIM_CHECK)
	@tools/check-layers.sh build/obj
	@tests/run.sh $(UNIT_BIN)

# Includes only look down; policy/ and the codecs need only libc, libm, cJSON.
layers: build/libsitegate.a
	@tools/check-layers.sh build/obj

unit: $(UNIT_BIN)
	@tests/run.sh --unit-only $(UNIT_BIN)

integration: build/asan/sitegate $(TOOL_BIN) $(SHIM_SO) npm-deps
	@tests/run.sh --integration-only

bench: deps
	@$(MAKE) --no-print-directory build/sitegate $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; ./$$b || exit 1; done

# Each target runs FUZZ_SECONDS on its corpus in build/fuzz/corpus/<name>,
# seeded from tests/fuzz/<name>/ when that folder exists.
fuzz:
	@tools/deps.sh $(FUZZ_DEBS)
	@$(MAKE) --no-print-directory -j$(JOBS) $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus/$$n; \
		seeds=; [ -d tests/fuzz/$$n ] && seeds=tests/fuzz/$$n; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus/$$n $$seeds 2>&1 | tail -n 12 || exit 1; \
	done

# The daemon into $(PREFIX)/sbin, the page into $(PREFIX)/share/sitegate/web,
# the default configuration into $(SYSCONFDIR)/sitegate/sitegate.json with
# its two relative paths made absolute (the state file under
# $(LOCALSTATEDIR)/lib/sitegate, the page's folder) -- only when no
# configuration is there yet: an existing one is never overwritten.
# SYSCONFDIR is /etc also for PREFIX=/usr/local, not $(PREFIX)/etc: it is
# where the binary looks without --config (/etc/sitegate/sitegate.json).
# DESTDIR stages the whole tree (a package build).
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
SG_SHARE = $(DESTDIR)$(PREFIX)/share/sitegate
SG_CONF  = $(DESTDIR)$(SYSCONFDIR)/sitegate/sitegate.json
install: build/sitegate
	install -d $(DESTDIR)$(PREFIX)/sbin $(SG_SHARE)/web \
		$(DESTDIR)$(SYSCONFDIR)/sitegate
	install -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/lib/sitegate
	install -m 0755 build/sitegate $(DESTDIR)$(PREFIX)/sbin/sitegate
	install -m 0644 $(filter-out web/README.md,$(wildcard web/*)) $(SG_SHARE)/web/
	@if [ -e $(SG_CONF) ]; then \
		echo "install: $(SG_CONF) exists: kept as it is (the default is conf/sitegate.json)"; \
	else \
		echo "install: $(SG_CONF) (conf/sitegate.json, absolute paths)"; \
		sed -e 's|"state_file": "var/sitegate.db"|"state_file": "$(LOCALSTATEDIR)/lib/sitegate/sitegate.db"|' \
		    -e 's|"root": "web"|"root": "$(PREFIX)/share/sitegate/web"|' \
		    conf/sitegate.json >$(SG_CONF).tmp && \
		grep -q '"state_file": "/' $(SG_CONF).tmp && \
		grep -q '"root": "/' $(SG_CONF).tmp && \
		chmod 0640 $(SG_CONF).tmp && mv $(SG_CONF).tmp $(SG_CONF) || \
		{ rm -f $(SG_CONF).tmp; \
		  echo "install: conf/sitegate.json: state_file or web.root not found to rewrite" >&2; \
		  exit 1; }; \
	fi

# The package is built by dpkg-buildpackage in a copy of the checkout
# (build/deb-src/), so the checkout stays clean and its build/ is not reused:
# the binary in the .deb is the package build's own. No network: the build
# dependencies are installed first, and nothing in it calls npm.
DEB_VERSION := $(shell head -n 1 packaging/debian/changelog | cut -d' ' -f2 | tr -d '()')
DEB_ARCH     = $(shell dpkg --print-architecture)
DEB_INPUTS  := Makefile README.md $(shell find src policy web docs packaging sim tools \
                 -type f 2>/dev/null)
deb:
	@tools/deps.sh $(PKG_DEBS)
	@$(MAKE) --no-print-directory build/sitegate_$(DEB_VERSION)_$(DEB_ARCH).deb

build/sitegate_$(DEB_VERSION)_%.deb: $(DEB_INPUTS)
	@rm -rf build/deb-src && mkdir -p build/deb-src/sitegate-$(DEB_VERSION)
	@tar -cf - --exclude=./build --exclude=./var --exclude=./tests \
		--exclude=./.git . | tar -xf - -C build/deb-src/sitegate-$(DEB_VERSION)
	@cp -R packaging/debian build/deb-src/sitegate-$(DEB_VERSION)/debian
	@echo "deb: dpkg-buildpackage in build/deb-src (log: build/deb-src/build.log)"
	@cd build/deb-src/sitegate-$(DEB_VERSION) && \
		DEB_BUILD_OPTIONS=parallel=$(JOBS) dpkg-buildpackage -b -uc -us \
		>../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	@mv build/deb-src/sitegate_$(DEB_VERSION)_$*.deb $@
	@rm -rf build/deb-src/sitegate-$(DEB_VERSION)
	@echo "deb: $@"

clean:
	rm -rf build

# ---------------------------------------------------------------- simulator
# sitegate-sim: sim/*.c linked against the gateway's library (its ws, rpc,
# schema and config reading); outside src/ so the library does not take it.
SIM_SRCS  := $(sort $(wildcard sim/*.c))
SIM_BIN    = build/sitegate-sim
# What make check adds for tests/integration/demo and sitegate_sim: the
# sanitized simulator, and mosquitto_pub (the demo's EMS).
SIM_CHECK  = build/asan/sitegate-sim demo-deps
DEMO_DEBS  = $(RUN_DEBS) mosquitto mosquitto-clients
.PHONY: sim demo demo-deps

build/sim/obj/%.o: %.c
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(BASE) $(REL_OPT) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/asan/sim/obj/%.o: %.c
	@mkdir -p $(@D)
	$(E) CC "$< [asan]"
	$(Q)$(CC) $(BASE) $(SAN_OPT) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/sitegate-sim: $(SIM_SRCS:%.c=build/sim/obj/%.o) build/libsitegate.a
	$(E) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/sitegate-sim: $(SIM_SRCS:%.c=build/asan/sim/obj/%.o) \
		build/asan/libsitegate.a
	$(E) LD $@
	$(Q)$(CC) $(SAN_OPT) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

sim: $(SIM_BIN)

# tests/unit/test_sim.c: the pure parts of the simulator, linked with their
# objects (the pattern rule for unit tests links the library only).
SIM_PURE = build/asan/sim/obj/sim/ev.o build/asan/sim/obj/sim/spec.o \
	   build/asan/sim/obj/sim/prof.o
build/asan/tests/test_sim: tests/unit/test_sim.c $(SIM_PURE) \
		build/asan/libsitegate.a
	@mkdir -p $(@D)
	$(E) LD $@
	$(Q)$(CC) $(BASE) $(SAN_OPT) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< $(SIM_PURE) \
		build/asan/libsitegate.a $(PKG_LIBS) -lcmocka

demo-deps:
	@tools/deps.sh mosquitto-clients

# tools/demo.sh: builds (make all sim), starts mosquitto, the gateway, the
# simulator and an EMS; Ctrl-C stops them in that order.
demo:
	@tools/deps.sh $(DEMO_DEBS)
	@$(MAKE) --no-print-directory all sim
	@tools/demo.sh

# Dependency files of the object trees only (build/ also holds other
# things, such as a Debian root with its own *.d folders).
-include $(shell find build/obj build/asan build/fuzz build/bench build/shim -type f -name '*.d' 2>/dev/null)
