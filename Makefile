# sandboxlua — `make` builds, `make demo` runs a jail, `make test` runs the specs.
# On a fresh Debian machine the build installs the packages it needs first.
PREFIX      ?= /usr/local
LUA_VERSION ?= 5.4
BINDIR      ?= $(PREFIX)/bin
LUADIR      ?= $(PREFIX)/share/lua/$(LUA_VERSION)
LIBDIR      ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
CC          ?= gcc
B           := build
V           ?= 0
Q           := $(if $(filter 1,$(V)),,@)

LUA_INC  := $(shell pkg-config --cflags lua$(LUA_VERSION) 2>/dev/null || echo -I/usr/include/lua$(LUA_VERSION))

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wconversion \
            -Wno-sign-conversion -Wstrict-prototypes -Wmissing-prototypes \
            -Wvla -Wundef -Wcast-align -Wnull-dereference \
            -Wno-format-truncation
HARDEN   := -fstack-protector-strong -fstack-clash-protection -fcf-protection \
            -D_FORTIFY_SOURCE=2 -fno-strict-overflow -fno-delete-null-pointer-checks
# SAN=address,undefined: the host side (module, host, libsbx) built with
# sanitizers, into build/asan (make check-asan); sbx-init stays as it is
SAN      ?=
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer)
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(HARDEN) $(SANFLAGS) -fPIC
LDHARDEN := -Wl,-z,relro,-z,now,-z,noexecstack,--as-needed $(SANFLAGS)
LIBS     := -lcap -lseccomp -luring

# libsbx (the host side) and sbx-init (the jail's pid 1, a static program
# of its own, embedded in libsbx through core/init_image.S)
LIB_SRC  := $(addprefix core/,cgroup.c cgparse.c spawn.c supervise.c timeline.c seccomp.c caps.c \
              ctx.c userns.c clone.c image.c plan.c priv.c devices.c err.c util.c hook.c exec.c)
INIT_SRC := $(addprefix core/,init.c initext.c command.c mount.c net.c priv.c plan.c \
              err.c util.c join.c)
CORE_HDR := core/sbx.h core/util.h core/jail.h core/cgparse.h
LIB_OBJ  := $(LIB_SRC:core/%.c=$(B)/core/%.o) $(B)/core/init_image.o
LUA_MODS := $(wildcard lua/cgsandbox/*.lua)
# sbx-init: static with musl where musl-gcc is installed (~90 KiB: cheap to
# copy into its memfd and to exec), else with the C compiler's own libc
INIT_CC     ?=
INIT_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Os $(WARN) -fstack-protector-strong \
               -fstack-clash-protection -fcf-protection -fno-strict-overflow \
               -fno-delete-null-pointer-checks -ffunction-sections -fdata-sections
MULTIARCH   := $(shell $(CC) -print-multiarch 2>/dev/null)

# Debian packages: build (and what the host reads at run time: Chart.js,
# inlined into --report pages), then tests (busted, the busybox rootfs, the
# VM, a headless browser for the report page)
BUILD_PKGS := lua5.4 liblua5.4-dev lua-argparse lua-dkjson libcap-dev liburing-dev libseccomp-dev pkg-config musl-tools \
              libjs-chart.js
TEST_PKGS  := lua-busted busybox-static runc qemu-system-x86 iproute2 procps uidmap util-linux bsdutils \
              clang libclang-rt-14-dev bpftool libxml2-utils jq python3-junitparser python3-jsonschema \
              luarocks groff-base man-db chromium chromium-driver python3-selenium \
              slurm-wlm munge podman conmon containernetworking-plugins catatonit containerd
BENCH_PKGS := bubblewrap crun runc util-linux
ROCK_PKGS  := luarocks zip

.PHONY: all deps test-deps demo test check check-asan asan bench install uninstall clean static fuzz rock

all: deps $(B)/sandboxlua $(B)/sandboxlua-oci $(B)/cgsandbox/core.so

deps: $(B)/.deps-build
test-deps: $(B)/.deps-test

$(B)/.deps-%: Makefile
	$(Q)mkdir -p $(B)
	$(Q)scripts/ensure-packages $(if $(filter build,$*),$(BUILD_PKGS),$(TEST_PKGS))
	$(Q)touch $@

$(B)/core/%.o: core/%.c $(CORE_HDR) | $(B)/.deps-build
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# musl's headers lack the kernel's: lend it linux/, asm/, asm-generic/
$(B)/musl-include/.stamp:
	$(Q)mkdir -p $(@D)
	$(Q)ln -sfn /usr/include/linux $(@D)/linux
	$(Q)ln -sfn /usr/include/asm-generic $(@D)/asm-generic
	$(Q)ln -sfn /usr/include/$(MULTIARCH)/asm $(@D)/asm
	$(Q)touch $@

$(B)/sbx-init: $(INIT_SRC) $(B)/core/init_filter.c $(CORE_HDR) $(B)/musl-include/.stamp | $(B)/.deps-build
	$(Q)if [ -n "$(INIT_CC)" ]; then cc="$(INIT_CC)"; \
	elif command -v musl-gcc >/dev/null; then cc="musl-gcc -I$(B)/musl-include"; \
	else cc="$(CC) -D_FORTIFY_SOURCE=2"; fi; \
	$$cc $(INIT_CFLAGS) -Icore -static -Wl,--gc-sections -s -o $@ $(INIT_SRC) \
	  $(B)/core/init_filter.c

$(B)/core/init_image.o: core/init_image.S $(B)/sbx-init
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -DSBX_INIT_PATH='"$(B)/sbx-init"' -c $< -o $@

$(B)/libsbx.a: $(LIB_OBJ) $(B)/core/seccomp_prebuilt.o
	$(Q)rm -f $@ && ar rcs $@ $^

# the default seccomp filters, compiled once at build time by core/seccomp.c
$(B)/seccomp-prebuild: scripts/seccomp-prebuild.c core/seccomp.c core/err.c $(CORE_HDR) | $(B)/.deps-build
	$(Q)$(CC) $(ALL_CFLAGS) -DSBX_SECCOMP_NO_PREBUILT -Icore -o $@ $(filter %.c,$^) -lseccomp

$(B)/core/seccomp_prebuilt.c $(B)/core/init_filter.c &: $(B)/seccomp-prebuild
	$(Q)mkdir -p $(@D)
	$(Q)$(B)/seccomp-prebuild $(B)/core/seccomp_prebuilt.c $(B)/core/init_filter.c

$(B)/core/seccomp_prebuilt.o: $(B)/core/seccomp_prebuilt.c core/sbx.h
	$(Q)$(CC) $(ALL_CFLAGS) -Icore -c $< -o $@

$(B)/lua/core.o: lua/core.c core/sbx.h | $(B)/.deps-build
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LUA_INC) -c $< -o $@

$(B)/lua/sandboxlua.o: lua/sandboxlua.c | $(B)/.deps-build
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LUA_INC) -c $< -o $@

# the CLI's option parser: Debian's lua-argparse, built in like our modules;
# and Debian's lua-dkjson for cgsandbox.oci (its pure-Lua mode: no lpeg)
ARGPARSE := /usr/share/lua/$(LUA_VERSION)/argparse.lua
DKJSON   := /usr/share/lua/$(LUA_VERSION)/dkjson.lua
$(B)/lua/embedded.c: $(LUA_MODS) scripts/embed.lua | $(B)/.deps-build
	$(Q)mkdir -p $(@D)
	$(Q)lua$(LUA_VERSION) scripts/embed.lua $@ \
	  $(foreach m,$(LUA_MODS),$(if $(filter init,$(basename $(notdir $(m)))),cgsandbox,cgsandbox.$(basename $(notdir $(m))))=$(m)) \
	  argparse=$(ARGPARSE) dkjson=$(DKJSON)

$(B)/lua/embedded.o: $(B)/lua/embedded.c
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(B)/cgsandbox/core.so: $(B)/lua/core.o $(B)/libsbx.a
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared $(LDHARDEN) -o $@ $^ $(LIBS)

# Lua and the three libraries linked in (as upstream's lua binary does), libc
# shared: ~0.3 ms less dynamic loading per `sandboxlua` run; -E exports the
# Lua API to C modules a recipe requires
$(B)/sandboxlua: $(B)/lua/sandboxlua.o $(B)/lua/core.o $(B)/lua/embedded.o $(B)/libsbx.a
	$(Q)$(CC) -pie $(LDHARDEN) -Wl,-E -o $@ $^ -Wl,-Bstatic -l:liblua$(LUA_VERSION).a \
	  $(LIBS) -Wl,-Bdynamic -lm -ldl

# the same binary by the name an engine calls as its OCI runtime (runc's
# arguments, no `oci` word)
$(B)/sandboxlua-oci: $(B)/sandboxlua
	$(Q)ln -sf sandboxlua $@

# one static binary (for hosts without lua5.4, libcap, libseccomp, liburing)
static: $(B)/static/sandboxlua
$(B)/static/sandboxlua: lua/sandboxlua.c lua/core.c $(B)/lua/embedded.c $(LIB_SRC) $(B)/core/init_image.o $(B)/core/seccomp_prebuilt.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LUA_INC) -Icore -Wno-missing-prototypes -static -o $@ $^ \
	  -l:liblua$(LUA_VERSION).a -l:libcap.a -l:libseccomp.a -l:liburing.a -lm -Wl,-w

demo: all
	$(Q)scripts/rootfs-busybox $(B)/rootfs/busybox >/dev/null
	$(B)/sandboxlua examples/hello.lua

# a static payload the specs run inside any rootfs
$(B)/spec/hog: spec/support/hog.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -static -Wall -Wextra -Werror -o $@ $<

# libFuzzer targets (clang): make fuzz FUZZ_SECONDS=N runs each from its
# seed corpus (fuzz/corpus/NAME, read-only) with new finds in build/fuzz
FUZZ_SECONDS ?= 30
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -g -O1 -std=gnu11 -D_GNU_SOURCE -Icore \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := plan_decode cg_parse recipe_compile units
$(B)/fuzz/plan_decode: fuzz/plan_decode.c core/plan.c core/err.c core/priv.c $(CORE_HDR) | $(B)/.deps-test
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

$(B)/fuzz/cg_parse: fuzz/cg_parse.c core/cgparse.c core/cgparse.h | $(B)/.deps-test
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

# the Lua layer through fuzz/lua_driver.c: cgsandbox's C core linked in,
# the harness (fuzz/NAME.lua) and the modules read from this tree
FUZZ_LUA_SRC := fuzz/lua_driver.c lua/core.c $(LIB_SRC) $(B)/core/seccomp_prebuilt.c
$(B)/fuzz/recipe_compile $(B)/fuzz/units: $(B)/fuzz/%: $(FUZZ_LUA_SRC) $(B)/core/init_image.o \
    fuzz/%.lua fuzz/luaval.lua $(CORE_HDR) | $(B)/.deps-test
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $(LUA_INC) -DFUZZ_HARNESS='"$*"' -DSBX_SRC_DIR='"$(CURDIR)"' \
	  -o $@ $(FUZZ_LUA_SRC) $(B)/core/init_image.o -l:liblua$(LUA_VERSION).a $(LIBS) -lm -ldl

fuzz: $(FUZZ_TARGETS:%=$(B)/fuzz/%)
	$(Q)for t in $(FUZZ_TARGETS); do mkdir -p $(B)/fuzz/work/$$t; \
	  $(B)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(B)/fuzz/$$t- \
	    $(B)/fuzz/work/$$t fuzz/corpus/$$t > $(B)/fuzz/$$t.log 2>&1; rc=$$?; \
	  grep -E '^(Done|==[0-9]+==ERROR|SUMMARY)' $(B)/fuzz/$$t.log | sed "s/^/$$t: /"; \
	  [ $$rc -eq 0 ] || { tail -n 40 $(B)/fuzz/$$t.log; exit 1; }; done

# a multithreaded host spawning through libsbx (spec/init_spec.lua)
$(B)/spec/mtspawn: spec/support/mtspawn.c $(B)/libsbx.a
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libsbx.a $(LIBS) -lpthread

# a host policy refusing close_range (spec/hostile_spec.lua)
$(B)/spec/noclose: spec/support/noclose.c | $(B)/.deps-build
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< -lseccomp

SPEC_BINS := $(B)/spec/hog $(B)/spec/mtspawn $(B)/spec/noclose

# the module and host with ASan+UBSan, for the host specs (scripts/test)
asan: deps
	$(Q)$(MAKE) --no-print-directory B=$(B)/asan SAN=address,undefined \
	  $(B)/asan/sandboxlua $(B)/asan/sandboxlua-oci $(B)/asan/cgsandbox/core.so $(B)/asan/lua5.4

# a lua interpreter with the sanitizer runtime linked in (spec/support/lua.c)
$(B)/lua5.4: spec/support/lua.c | $(B)/.deps-build
	$(Q)$(CC) $(ALL_CFLAGS) $(LUA_INC) -Wl,-E -o $@ $< $(LDHARDEN) -llua$(LUA_VERSION) -lm

test: all test-deps asan $(SPEC_BINS)
	$(Q)scripts/test

check-asan: all test-deps asan $(SPEC_BINS)
	$(Q)SBX_ONLY=asan scripts/test

bench: all
	$(Q)scripts/ensure-packages $(BENCH_PKGS)
	$(Q)scripts/bench

# install records the directories it had to create (relative to DESTDIR)
# in INSTALL_RECORD; uninstall removes its files, then those directories
# where they are empty: never one that was there before, or that holds
# anything else now
INSTALL_DIRS   = $(BINDIR) $(LUADIR)/cgsandbox $(LIBDIR)/cgsandbox $(MANDIR)/man1 $(BASHCOMPDIR) \
                 $(DATADIR)/sandboxlua
INSTALL_RECORD = $(DATADIR)/sandboxlua/installed-dirs
install: all
	$(Q)new=$$(for d in $(INSTALL_DIRS); do \
	  while [ -n "$$d" ] && [ ! -d '$(DESTDIR)'"$$d" ]; do echo "$$d"; d=$${d%/*}; done; done); \
	install -d $(addprefix '$(DESTDIR)',$(INSTALL_DIRS)) && \
	rec='$(DESTDIR)$(INSTALL_RECORD)' && \
	{ if [ -f "$$rec" ]; then cat "$$rec"; fi; [ -z "$$new" ] || echo "$$new"; } | LC_ALL=C sort -ru > "$$rec.new" && \
	mv "$$rec.new" "$$rec"
	install -m 0755 $(B)/sandboxlua '$(DESTDIR)$(BINDIR)/sandboxlua'
	install -m 0644 $(LUA_MODS) '$(DESTDIR)$(LUADIR)/cgsandbox/'
	install -m 0755 $(B)/cgsandbox/core.so '$(DESTDIR)$(LIBDIR)/cgsandbox/core.so'
	install -m 0644 doc/sandboxlua.1 '$(DESTDIR)$(MANDIR)/man1/sandboxlua.1'
	install -m 0644 completions/sandboxlua '$(DESTDIR)$(BASHCOMPDIR)/sandboxlua'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/sandboxlua' '$(DESTDIR)$(LIBDIR)/cgsandbox/core.so' \
	  $(foreach m,$(notdir $(LUA_MODS)),'$(DESTDIR)$(LUADIR)/cgsandbox/$(m)') \
	  '$(DESTDIR)$(MANDIR)/man1/sandboxlua.1' '$(DESTDIR)$(BASHCOMPDIR)/sandboxlua'
	$(Q)rec='$(DESTDIR)$(INSTALL_RECORD)'; dirs=; \
	if [ -f "$$rec" ]; then dirs=$$(cat "$$rec"); rm -f "$$rec"; fi; \
	for d in $(LUADIR)/cgsandbox $(LIBDIR)/cgsandbox $(DATADIR)/sandboxlua $$dirs; do \
	  rmdir '$(DESTDIR)'"$$d" 2>/dev/null || true; done

# a source rock of this tree: `luarocks --lua-version 5.4 install
# build/rock/sandboxlua-0.1.0-1.src.rock` builds and installs it from any
# directory, offline (luarocks make builds only in the current directory)
ROCK_VERSION := $(patsubst sandboxlua-%.rockspec,%,$(wildcard sandboxlua-*.rockspec))
ROCK_DIR     := sandboxlua-$(firstword $(subst -, ,$(ROCK_VERSION)))
rock: $(B)/rock/sandboxlua-$(ROCK_VERSION).src.rock
$(B)/rock/sandboxlua-$(ROCK_VERSION).src.rock: sandboxlua-$(ROCK_VERSION).rockspec Makefile $(LUA_MODS) \
    $(wildcard core/* lua/*.c scripts/* doc/* completions/*)
	$(Q)scripts/ensure-packages $(ROCK_PKGS)
	$(Q)rm -rf $(B)/rock && mkdir -p $(B)/rock/$(ROCK_DIR)
	$(Q)tar -cf - Makefile README.md sandboxlua-$(ROCK_VERSION).rockspec core lua scripts doc completions \
	  | tar -xf - -C $(B)/rock/$(ROCK_DIR)
	$(Q)tar -czf $(B)/rock/$(ROCK_DIR).tar.gz -C $(B)/rock $(ROCK_DIR)
	$(Q)sed 's|^source = .*|source = { url = "file://$(ROCK_DIR).tar.gz", dir = "$(ROCK_DIR)" }|' \
	  sandboxlua-$(ROCK_VERSION).rockspec > $(B)/rock/sandboxlua-$(ROCK_VERSION).rockspec
	$(Q)cd $(B)/rock && rm -rf $(ROCK_DIR) && zip -q sandboxlua-$(ROCK_VERSION).src.rock \
	  sandboxlua-$(ROCK_VERSION).rockspec $(ROCK_DIR).tar.gz

clean:
	rm -rf $(B)
