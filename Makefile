# iotpub: build, test, demo and install.
#   make          build everything           make check   deps + build + all tests (what CI runs)
#   make demo     deps + build + the demo    make deps    install build/run/test dependencies (apt-get)
#   make install  DESTDIR= PREFIX= honoured  make clean
# Library flags come from pkg-config and are looked up lazily, so `make deps` can run on a bare machine.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
VERSION := 0.1.0
# The date of VERSION (2026-11-22T00:00:00Z): iotpubctl check takes a clock before it as wrong.
RELEASE_EPOCH := 1795305600

B := build
CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WERROR ?= 1

WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wvla \
	-Wimplicit-fallthrough -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

SHARED_PKGS := libsystemd gnutls json-c libcoap-3-gnutls libcbor
DAEMON_PKGS := $(SHARED_PKGS) sqlite3 inih libcurl libcbor libnl-route-3.0
CLOUDSIM_PKGS := $(SHARED_PKGS) libmicrohttpd libcbor
TEST_PKGS := $(DAEMON_PKGS) $(CLOUDSIM_PKGS) cmocka

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pc_libs = $(shell $(PKG_CONFIG) --libs $(1))

BASE_CFLAGS = -std=gnu17 -fPIC $(WARNINGS) -MMD -MP -D_GNU_SOURCE -DIOTPUB_VERSION='"$(VERSION)"' -DIOTPUB_RELEASE_EPOCH=$(RELEASE_EPOCH) \
	-Ilib/shared -Ilib/include $(call pc_cflags,$(TEST_PKGS)) $(CFLAGS)

SHARED_SRC := $(wildcard lib/shared/*.c)
DAEMON_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
CLOUDSIM_SRC := $(filter-out tools/cloudsim/main.c,$(wildcard tools/cloudsim/*.c))
UNIT_SRC := $(wildcard tests/unit/test-*.c)
TESTTOOL_SRC := $(wildcard tests/tools/*.c) $(wildcard tests/integration/*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBSHARED := $(B)/libshared.a
LIBDAEMON := $(B)/libdaemon.a
LIBCLOUDSIM := $(B)/libcloudsim.a
PROGRAMS := $(B)/iotpubd $(B)/iotpub-cloudsim
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
TEST_TOOLS := $(patsubst %.c,$(B)/tests/bin/%,$(notdir $(TESTTOOL_SRC)))

.PHONY: all check demo deps install clean build-tests
.DEFAULT_GOAL := all

all: $(PROGRAMS)

build-tests: all $(UNIT_TESTS) $(TEST_TOOLS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -c $< -o $@

$(LIBSHARED): $(call obj,$(SHARED_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBDAEMON): $(call obj,$(DAEMON_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBCLOUDSIM): $(call obj,$(CLOUDSIM_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/iotpubd: $(call obj,daemon/main.c) $(LIBDAEMON) $(LIBSHARED)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) -lm

$(B)/iotpub-cloudsim: $(call obj,tools/cloudsim/main.c) $(LIBCLOUDSIM) $(LIBSHARED)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CLOUDSIM_PKGS)) -lm

# --- iotpubctl: the command-line tool; talks to iotpubd with sd-bus only (no daemon or client-library code).
IOTPUBCTL_SRC := $(wildcard tools/iotpubctl/*.c)
all: $(B)/iotpubctl
$(B)/iotpubctl: $(call obj,$(IOTPUBCTL_SRC)) $(LIBSHARED)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,libsystemd)
.PHONY: install-iotpubctl
install: install-iotpubctl
install-iotpubctl: $(B)/iotpubctl
	install -Dm0755 $(B)/iotpubctl $(DESTDIR)$(BINDIR)/iotpubctl
	install -Dm0644 tools/iotpubctl/iotpubctl.bash-completion \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/iotpubctl
# --- end of iotpubctl

$(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(LIBDAEMON) $(LIBCLOUDSIM) $(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(TEST_PKGS)) -lm

$(B)/tests/bin/%: $(B)/obj/tests/tools/%.o $(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SHARED_PKGS)) -lm

# The relays' shared link emulation (tests/tools/link/: shaping, black holes, options) is linked into both.
LINK_SRC := $(wildcard tests/tools/link/*.c)
$(B)/tests/bin/udp-relay $(B)/tests/bin/tcp-relay: $(B)/tests/bin/%: $(B)/obj/tests/tools/%.o $(call obj,$(LINK_SRC)) \
		$(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SHARED_PKGS)) -lm

$(B)/tests/bin/%: $(B)/obj/tests/integration/%.o $(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SHARED_PKGS)) -lm

deps:
	@tools/install-deps.sh

check: deps
	$(MAKE) build-tests
	tests/run-tests.sh $(B)

demo: deps
	$(MAKE) all $(B)/tests/bin/wait-ready
	tools/demo.sh $(B)

install: all
	install -Dm0755 $(B)/iotpubd $(DESTDIR)$(SBINDIR)/iotpubd
	install -Dm0755 $(B)/iotpub-cloudsim $(DESTDIR)$(BINDIR)/iotpub-cloudsim
	install -Dm0644 dbus/org.iotpub1.conf $(DESTDIR)$(DATADIR)/dbus-1/system.d/org.iotpub1.conf
	install -Dm0644 dbus/org.iotpub1.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/org.iotpub1.xml

clean:
	rm -rf $(B)

# --- libiotpub: the client library (lib/client, lib/include/iotpub.h), its pkg-config file, the envsensor
# example and the tests that link the library.
LIBIOTPUB_SONAME := libiotpub.so.1
LIBIOTPUB := $(B)/$(LIBIOTPUB_SONAME)
CLIENT_SRC := $(wildcard lib/client/*.c)
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
CLIENT_PKGS := libsystemd
LIBIOTPUB_TARGETS := $(LIBIOTPUB) $(B)/libiotpub.so $(B)/iotpub.pc $(B)/envsensor
# Build-tree programs find build/libiotpub.so.1 next to them.
LINK_LIBIOTPUB = -L$(B) -liotpub -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/../..'

all: $(LIBIOTPUB_TARGETS)
build-tests: $(B)/tests/unit/test-client-args $(B)/tests/bin/libclient

$(CLIENT_OBJ): CFLAGS += -fvisibility=hidden
$(B)/obj/tests/unit/test-client-args.o: CFLAGS += -Ilib/client

$(LIBIOTPUB): $(CLIENT_OBJ) $(LIBSHARED) lib/client/libiotpub.sym
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(LIBIOTPUB_SONAME) -Wl,--no-undefined \
		-Wl,--version-script=lib/client/libiotpub.sym -o $@ $(CLIENT_OBJ) $(LIBSHARED) $(call pc_libs,$(CLIENT_PKGS))

$(B)/libiotpub.so: $(LIBIOTPUB)
	ln -sf $(LIBIOTPUB_SONAME) $@

$(B)/iotpub.pc: lib/client/iotpub.pc.in Makefile
	sed -e 's|@prefix@|$(PREFIX)|' -e 's|@libdir@|$(LIBDIR)|' -e 's|@includedir@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< >$@

$(B)/envsensor: $(call obj,tools/examples/envsensor.c) $(B)/libiotpub.so
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LINK_LIBIOTPUB)

$(B)/tests/unit/test-client-args: $(B)/obj/tests/unit/test-client-args.o $(CLIENT_OBJ) $(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CLIENT_PKGS) cmocka)

$(B)/tests/bin/libclient: $(B)/obj/tests/integration/libclient.o $(B)/libiotpub.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LINK_LIBIOTPUB)

.PHONY: install-libiotpub
install: install-libiotpub
install-libiotpub: $(LIBIOTPUB_TARGETS)
	install -Dm0755 $(LIBIOTPUB) $(DESTDIR)$(LIBDIR)/$(LIBIOTPUB_SONAME)
	ln -sf $(LIBIOTPUB_SONAME) $(DESTDIR)$(LIBDIR)/libiotpub.so
	install -Dm0644 lib/include/iotpub.h $(DESTDIR)$(INCLUDEDIR)/iotpub.h
	install -Dm0644 $(B)/iotpub.pc $(DESTDIR)$(LIBDIR)/pkgconfig/iotpub.pc
# --- end of libiotpub

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# --- system integration: unit, sysusers, tmpfiles, D-Bus activation, default configuration, man pages and
# the envsensor example without an RPATH. Shared by `make install` and the Debian packages (debian/rules).
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(DATADIR)/man
LOCALSTATEDIR ?= /var
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SCDOC ?= scdoc
# dpkg-buildflags puts -D_FORTIFY_SOURCE into CPPFLAGS.
BASE_CFLAGS += $(CPPFLAGS)

MAN_SRC := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(B)/man/%,$(MAN_SRC))
SYSTEM_FILES := $(B)/system/iotpubd.service $(B)/system/iotpub.tmpfiles
subst_paths = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@STATEDIR@|$(LOCALSTATEDIR)/lib/iotpub|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@VERSION@|$(VERSION)|g'

.PHONY: man install-system install-man install-envsensor
man: $(MAN_PAGES)
$(B)/man/%: man/%.scd Makefile
	@mkdir -p $(dir $@)
	$(subst_paths) $< | $(SCDOC) >$@.tmp && mv $@.tmp $@

$(B)/system/%: systemd/%.in Makefile
	@mkdir -p $(dir $@)
	$(subst_paths) $< >$@
all: $(SYSTEM_FILES)

# The build-tree envsensor finds libiotpub through its RPATH; the installed one uses the system's search path.
$(B)/dist/envsensor: $(call obj,tools/examples/envsensor.c) $(B)/libiotpub.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(B) -liotpub
all: $(B)/dist/envsensor

install: install-system install-man install-envsensor
install-system: $(SYSTEM_FILES)
	install -Dm0644 $(B)/system/iotpubd.service $(DESTDIR)$(SYSTEMDUNITDIR)/iotpubd.service
	install -Dm0644 systemd/iotpub.sysusers $(DESTDIR)$(SYSUSERSDIR)/iotpub.conf
	install -Dm0644 $(B)/system/iotpub.tmpfiles $(DESTDIR)$(TMPFILESDIR)/iotpub.conf
	install -Dm0644 dbus/org.iotpub1.service $(DESTDIR)$(DATADIR)/dbus-1/system-services/org.iotpub1.service
	install -d $(DESTDIR)$(SYSCONFDIR)/iotpub/devices $(DESTDIR)$(SYSCONFDIR)/iotpub/acl.d
	# An existing configuration is never overwritten.
	for f in iotpubd.conf acl.conf; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/iotpub/$$f ] || install -m0644 systemd/$$f $(DESTDIR)$(SYSCONFDIR)/iotpub/$$f; \
	done
install-man: $(MAN_PAGES)
	for p in $(MAN_PAGES); do install -Dm0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/}; done
install-envsensor: $(B)/dist/envsensor
	install -Dm0755 $(B)/dist/envsensor $(DESTDIR)$(LIBEXECDIR)/iotpub/envsensor
# --- end of system integration

# --- fuzzing and sanitizers: `make fuzz [FUZZ_SECONDS=30]` builds tests/fuzz/fuzz-*.c with clang's libFuzzer
# (ASan+UBSan) into build-fuzz/ and runs each target on a copy of its corpus; `make check-asan` runs every unit
# and integration test in an ASan+UBSan build (build-asan/); `make check-valgrind` a short integration run (the
# normal build) with iotpubd and cloudsim under valgrind memcheck.
FUZZ_SECONDS ?= 30
FUZZ_B := build-fuzz
ASAN_B := build-asan
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# CFLAGS goes to the sub-make through the environment, so that the Makefile's target-specific
# `CFLAGS += ...` (e.g. -fvisibility=hidden for libiotpub) still apply.
.PHONY: fuzz fuzz-build check-asan check-valgrind

.PRECIOUS: $(B)/obj/tests/fuzz/%.o
$(B)/fuzz/fuzz-%: $(B)/obj/tests/fuzz/fuzz-%.o $(LIBDAEMON) $(LIBCLOUDSIM) $(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(call pc_libs,$(TEST_PKGS)) -lm

fuzz-build: deps
	CFLAGS='$(FUZZ_CFLAGS)' $(MAKE) B=$(FUZZ_B) CC=clang $(patsubst %,$(FUZZ_B)/fuzz/%,$(FUZZ_TARGETS))

fuzz: fuzz-build
	tests/fuzz/run-fuzz.sh $(FUZZ_B) $(FUZZ_SECONDS)

check-asan: deps
	CFLAGS='$(ASAN_CFLAGS)' $(MAKE) B=$(ASAN_B) build-tests
	tests/asan.sh $(ASAN_B)

check-valgrind: deps
	$(MAKE) build-tests
	tests/valgrind.sh $(B)
# --- end of fuzzing and sanitizers

# --- benchmarks: `make bench` builds tests/bench/*.c into build/bench/ and runs tests/bench/run.sh, which prints
# a markdown table (each figure beside a baseline measured in the same run) and writes build/bench/results.json.
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))
.PHONY: bench
.PRECIOUS: $(B)/obj/tests/bench/%.o
$(B)/bench/%: $(B)/obj/tests/bench/%.o $(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SHARED_PKGS)) -lm -lpthread

# The direct https client sends the daemon's bodies (daemon/https-msg.c, pure functions, taken from libdaemon.a)
# with libcurl.
$(B)/obj/tests/bench/bench-direct-https.o: CFLAGS += -Idaemon
$(B)/bench/bench-direct-https: $(B)/obj/tests/bench/bench-direct-https.o $(LIBDAEMON) $(LIBSHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SHARED_PKGS) libcurl) -lm

bench: all $(BENCH_BINS) $(B)/tests/bin/wait-ready $(B)/tests/bin/pubclient
	tests/bench/run.sh $(B)
# `make bench-field`: iotpubd behind emulated NB-IoT links (udp-relay, tcp-relay): drain times beside the link's
# limits, recovery after a NAT rebinding and a black hole, bytes per message. Tables to stdout, JSON to
# build/bench/field.json; FIELD_SMOKE=1 for a quick run (see tests/bench/field.sh for the knobs).
.PHONY: bench-field
bench-field: all $(B)/bench/bench-publish $(B)/tests/bin/wait-ready $(B)/tests/bin/pubclient \
		$(B)/tests/bin/udp-relay $(B)/tests/bin/tcp-relay
	tests/bench/field.sh $(B)
# --- end of benchmarks
