# rssnat - one Makefile. `make` builds build/rssnat; `make check` runs every
# test (release and ASan+UBSan builds); `make demo` is the main job.

VERSION  := 0.1.0
CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
# Build on every core: `make check` builds three variants (release,
# ASan+UBSan, libFuzzer) before its tests. JOBS=1 builds one thing at a time;
# an explicit -jN wins.
JOBS     ?= $(shell nproc 2>/dev/null || echo 1)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(JOBS)
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wundef -Wvla -Wcast-qual -Wwrite-strings
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -DRSSNAT_VERSION='"$(VERSION)"' $(WARN) -g -MMD -MP
CFLAGS   ?= -O2
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

LIB_SRC  := $(wildcard src/core/*.c src/ctl/*.c src/rss/*.c src/pkt/*.c src/nat/*.c src/sim/*.c src/io/*.c src/svc/*.c src/router/*.c src/offload/*.c src/gw/*.c src/uplink/*.c src/portctl/*.c \
                     src/conf/*.c)
LDLIBS   := -lbpf -lmnl -lelf -lz -lm -pthread
CLI_SRC  := $(wildcard src/cli/*.c) src/main.c
TEST_SRC := $(wildcard tests/unit/*.c)

obj = $(patsubst %.c,$(1)/obj/%.o,$(2))

.PHONY: all asan check test unit cli-test demo bench format format-check tidy cppcheck \
        install uninstall clean fuzz fuzz-long bench-kernel coverage

all: $(BUILD)/rssnat

# The afpacket backend's eBPF fanout program, built for the BPF target and
# embedded in the library as a C array (io_rss_fanout_bpf, io_internal.h).
BPF_OBJ  := $(BUILD)/bpf/rss_fanout.bpf.o
BPF_BLOB := $(BUILD)/bpf/rss_fanout_blob.c
$(BPF_OBJ): src/io/bpf/rss_fanout.bpf.c src/io/bpf/rss_hash.h src/io/rss_maps.h
	@mkdir -p $(dir $@)
	clang -O2 -target bpf -g -I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@
$(BPF_BLOB): $(BPF_OBJ)
	{ echo '/* generated from $< by the Makefile: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char io_rss_fanout_bpf[];'; \
	  echo 'extern const size_t io_rss_fanout_bpf_len;'; \
	  echo 'const unsigned char io_rss_fanout_bpf[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t io_rss_fanout_bpf_len = sizeof(io_rss_fanout_bpf);'; } >$@.tmp
	mv $@.tmp $@

# The afxdp backend's XDP program and the tc RSS emulation for veth peers,
# embedded the same way (io_xsk_redirect_bpf, io_tc_rss_bpf).
BPF_XDP_OBJ := $(BUILD)/bpf/xsk_redirect.bpf.o $(BUILD)/bpf/tc_rss.bpf.o $(BUILD)/bpf/stack_guard.bpf.o \
	       $(BUILD)/bpf/offload.bpf.o $(BUILD)/bpf/spread.bpf.o
$(BPF_XDP_OBJ): $(BUILD)/bpf/%.bpf.o: src/io/bpf/%.bpf.c src/io/bpf/rss_fanout.bpf.c src/io/bpf/rss_hash.h src/io/rss_maps.h \
		src/offload/offload_maps.h src/io/bpf/offload_decide.h src/offload/spread_maps.h \
		src/io/claim_maps.h src/io/bpf/claim_decide.h
	@mkdir -p $(dir $@)
	clang -O2 -target bpf -g -I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@
$(BUILD)/bpf/%_blob.c: $(BUILD)/bpf/%.bpf.o
	{ echo '/* generated from $< by the Makefile: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char io_$*_bpf[];'; \
	  echo 'extern const size_t io_$*_bpf_len;'; \
	  echo 'const unsigned char io_$*_bpf[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t io_$*_bpf_len = sizeof(io_$*_bpf);'; } >$@.tmp
	mv $@.tmp $@
BPF_BLOB += $(BUILD)/bpf/xsk_redirect_blob.c $(BUILD)/bpf/tc_rss_blob.c $(BUILD)/bpf/stack_guard_blob.c \
	    $(BUILD)/bpf/offload_blob.c $(BUILD)/bpf/spread_blob.c
# Generated sources, not intermediates: keep them (no rebuild every run).
.SECONDARY: $(BPF_BLOB) $(BPF_XDP_OBJ)

# Release build ---------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -c $< -o $@

$(BUILD)/librssnat.a: $(call obj,$(BUILD),$(LIB_SRC) $(BPF_BLOB))
	ar rcs $@ $^

$(BUILD)/rssnat: $(call obj,$(BUILD),$(CLI_SRC)) $(BUILD)/librssnat.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/unit-tests: $(call obj,$(BUILD),$(TEST_SRC)) $(BUILD)/librssnat.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# ASan + UBSan build ------------------------------------------------------------
$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN) -c $< -o $@

$(BUILD)/asan/librssnat.a: $(call obj,$(BUILD)/asan,$(LIB_SRC) $(BPF_BLOB))
	ar rcs $@ $^

$(BUILD)/asan/rssnat: $(call obj,$(BUILD)/asan,$(CLI_SRC)) $(BUILD)/asan/librssnat.a
	$(CC) $(SAN) $^ -o $@ $(LDLIBS)

$(BUILD)/asan/unit-tests: $(call obj,$(BUILD)/asan,$(TEST_SRC)) $(BUILD)/asan/librssnat.a
	$(CC) $(SAN) $^ -o $@ $(LDLIBS)

asan: $(BUILD)/asan/rssnat $(BUILD)/asan/unit-tests

# libFuzzer harnesses (clang), one per parser: fuzz/fuzz_NAME.c -> build/fuzz/fuzz_NAME
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -DRSSNAT_VERSION='"$(VERSION)"' -g -O1 \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/%: fuzz/%.c $(LIB_SRC) $(BPF_BLOB) $(wildcard src/*/*.h) $(wildcard fuzz/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) $< $(LIB_SRC) $(BPF_BLOB) -o $@ $(LDLIBS)
fuzz: $(FUZZ_BIN)
FUZZ_SECONDS ?= 600
fuzz-long: $(FUZZ_BIN)
	for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(BUILD)/corpus/$$n; \
	  cp -n fuzz/corpus/$$n/* $(BUILD)/corpus/$$n/ 2>/dev/null; \
	  $$f -max_total_time=$(FUZZ_SECONDS) $(BUILD)/corpus/$$n || exit 1; done

# Coverage ----------------------------------------------------------------------
# gcc --coverage builds of the unit tests, the CLI and every fuzz harness
# (linked with fuzz/replay.c, which replays the committed corpora once: no
# fuzzing), all on one instrumented library so that their counts add up.
# tools/coverage.sh runs them and prints line coverage of src/, in total and
# per folder, for the whole suite: the namespace tests included (root;
# COVERAGE_NET=0 leaves them out, and says so). At -O0 gcc cannot see that a
# const format is a literal: that warning is off here.
COV       := $(BUILD)/cov
COV_FUZZ  := $(patsubst fuzz/%.c,$(COV)/fuzz/%,$(FUZZ_SRC))
$(COV)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O0 -Wno-format-nonliteral --coverage -c $< -o $@

$(COV)/librssnat.a: $(call obj,$(COV),$(LIB_SRC) $(BPF_BLOB))
	ar rcs $@ $^

$(COV)/rssnat: $(call obj,$(COV),$(CLI_SRC)) $(COV)/librssnat.a
	$(CC) --coverage $^ -o $@ $(LDLIBS)

$(COV)/unit-tests: $(call obj,$(COV),$(TEST_SRC)) $(COV)/librssnat.a
	$(CC) --coverage $^ -o $@ $(LDLIBS)

$(COV)/fuzz/%: $(COV)/obj/fuzz/%.o $(COV)/obj/fuzz/replay.o $(COV)/librssnat.a
	@mkdir -p $(dir $@)
	$(CC) --coverage $^ -o $@ $(LDLIBS)

.SECONDARY: $(patsubst fuzz/%.c,$(COV)/obj/fuzz/%.o,$(FUZZ_SRC) fuzz/replay.c)
coverage: $(COV)/rssnat $(COV)/unit-tests $(COV_FUZZ)
	tools/coverage.sh $(COV)

# Tests -------------------------------------------------------------------------
check test: $(BUILD)/rssnat $(BUILD)/unit-tests asan fuzz format-check
	tests/run-all.sh $(BUILD)

# The main job ------------------------------------------------------------------
demo: $(BUILD)/rssnat
	tools/demo.sh $(BUILD)/rssnat

bench: $(BUILD)/rssnat
	$(BUILD)/rssnat bench rss
	$(BUILD)/rssnat bench nat

# rssnat against the kernel's NAT (nftables masquerade), in namespaces (root)
$(BUILD)/bench-gen: bench/gen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 -D_GNU_SOURCE $(WARN) $< -o $@
bench-kernel: $(BUILD)/rssnat $(BUILD)/bench-gen
	RSSNAT=$(BUILD)/rssnat bench/vs-kernel.sh

# Code quality ------------------------------------------------------------------
FORMAT_FILES := $(shell find src tests -name '*.[ch]')
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)
tidy:
	clang-tidy $(LIB_SRC) $(CLI_SRC) -- $(CFLAGS_BASE)
cppcheck:
	cppcheck --error-exitcode=1 --enable=warning,performance,portability --quiet \
	    --suppress=missingIncludeSystem src

# Installation ------------------------------------------------------------------
# The unit goes where systemd looks for it under PREFIX (/usr/lib/systemd/system
# for PREFIX=/usr, /usr/local/lib/systemd/system for the default), its
# ExecStart pointed at the installed binary. The example configuration becomes
# /etc/rssnat/rssnat.conf only if there is none: a user's is never overwritten,
# and uninstall removes it only if it is still the example, unchanged.
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_CONF  = $(DESTDIR)$(SYSCONFDIR)/rssnat/rssnat.conf
install: $(BUILD)/rssnat
	install -D -m 0755 $(BUILD)/rssnat $(DESTDIR)$(PREFIX)/sbin/rssnat
	install -D -m 0644 docs/rssnat.8 $(DESTDIR)$(PREFIX)/share/man/man8/rssnat.8
	install -d -m 0755 $(DESTDIR)$(SYSTEMDDIR)
	sed -e 's|/usr/sbin/rssnat|$(PREFIX)/sbin/rssnat|g' \
	    -e 's|/etc/rssnat/rssnat.conf|$(SYSCONFDIR)/rssnat/rssnat.conf|g' \
	    packaging/rssnat.service >$(DESTDIR)$(SYSTEMDDIR)/rssnat.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/rssnat.service.tmp
	mv $(DESTDIR)$(SYSTEMDDIR)/rssnat.service.tmp $(DESTDIR)$(SYSTEMDDIR)/rssnat.service
	if [ -e $(INSTALL_CONF) ]; then echo "keeping $(INSTALL_CONF) (the example is examples/rssnat.conf)"; \
	else install -D -m 0644 examples/rssnat.conf $(INSTALL_CONF); fi
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/rssnat $(DESTDIR)$(PREFIX)/share/man/man8/rssnat.8 \
	      $(DESTDIR)$(SYSTEMDDIR)/rssnat.service
	if cmp -s examples/rssnat.conf $(INSTALL_CONF); then rm -f $(INSTALL_CONF); \
	elif [ -e $(INSTALL_CONF) ]; then echo "keeping $(INSTALL_CONF): it is not the example"; fi
	rmdir $(DESTDIR)$(SYSCONFDIR)/rssnat 2>/dev/null || true

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
