# The C library without cargo-c (ELF platforms: Linux, the BSDs). With cargo-c, `cargo cbuild` and
# `cargo cinstall` make the same files from [package.metadata.capi] in Cargo.toml.
#
#   make capi                     target/capi/: liba0backup.so.X.Y.Z with its soname link
#                                 (liba0backup.so.0.Y) and development link (liba0backup.so),
#                                 liba0backup.a, a0backup.h, a0backup.pc (for PREFIX) and
#                                 a0backup-uninstalled.pc (for target/capi itself)
#   make install PREFIX=/opt/a0b  the same under PREFIX (DESTDIR is honoured)
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CARGO ?= cargo
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
MINOR := $(word 2,$(subst ., ,$(VERSION)))
# 0.y for 0.y.z versions (every 0.y release may break the ABI), the major from 1.0 on: as cargo-c.
SOVERSION := $(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
SONAME := liba0backup.so.$(SOVERSION)
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
CAPI_DIR ?= $(TARGET_DIR)/capi
PC_SUBST = -e 's|@VERSION@|$(VERSION)|'

.PHONY: all capi lib install uninstall test sample
all: capi

# Every test: the Rust suite (interop with Node and OpenSSL, C tests under valgrind, replayed
# fuzz corpora, a dependent crate that must not build the C library), the README's C steps
# without installing, the C library installed into a temporary prefix and linked with
# pkg-config, and the Node and Python packages built with the library inside, installed from
# their package files and tested (examples/run-tests.sh).
test: tests/producers/node/node_modules/.package-lock.json
	$(CARGO) test --all-features
	$(MAKE) sample
	examples/c/uninstalled-test.sh
	examples/c/install-test.sh
	examples/run-tests.sh

# node-tar, one of the archive producers of tests/producers.rs, as locked.
tests/producers/node/node_modules/.package-lock.json: tests/producers/node/package-lock.json
	cd tests/producers/node && npm ci --no-audit --no-fund

# The README's main job, exactly as written there (into ./sample-restore, in .gitignore; run
# twice, it replaces its own output with --force), then checked against the sample's manifest.
sample:
	$(CARGO) run --release --features cli -- restore --password Passw0rd --force \
	    --status tests/data/sample-backup/backup-status.txt \
	    tests/data/sample-backup/backup-retrieve.tar.gz.enc -C sample-restore
	cd sample-restore && sha256sum --quiet -c $(CURDIR)/tests/data/sample-backup/manifest.sha256

# The crate is an rlib; the C libraries are its lib target built as a cdylib and a staticlib
# with the `capi` feature, the shared one with its soname.
capi:
	$(CARGO) rustc --lib --release --features capi --crate-type cdylib,staticlib \
	    --target-dir $(TARGET_DIR) -- -C link-arg=-Wl,-soname,$(SONAME)
	mkdir -p $(CAPI_DIR)
	rm -f $(CAPI_DIR)/liba0backup.so* $(CAPI_DIR)/liba0backup.a
	cp $(TARGET_DIR)/release/liba0backup.so $(CAPI_DIR)/liba0backup.so.$(VERSION)
	ln -s liba0backup.so.$(VERSION) $(CAPI_DIR)/$(SONAME)
	ln -s $(SONAME) $(CAPI_DIR)/liba0backup.so
	cp $(TARGET_DIR)/release/liba0backup.a $(CAPI_DIR)/liba0backup.a
	cp include/a0backup.h $(CAPI_DIR)/a0backup.h
	sed $(PC_SUBST) -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' a0backup.pc.in > $(CAPI_DIR)/a0backup.pc
	dir=$$(cd $(CAPI_DIR) && pwd) && sed $(PC_SUBST) -e "s|@PREFIX@|$$dir|" \
	    -e "s|@LIBDIR@|$$dir|" -e "s|@INCLUDEDIR@|$$dir|" a0backup.pc.in \
	    > $(CAPI_DIR)/a0backup-uninstalled.pc

# The name of the target before `capi` existed.
lib: capi

install: capi
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/a0backup.h $(DESTDIR)$(INCLUDEDIR)/a0backup.h
	install -m 755 $(CAPI_DIR)/liba0backup.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liba0backup.so.$(VERSION)
	ln -sf liba0backup.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liba0backup.so
	install -m 644 $(CAPI_DIR)/liba0backup.a $(DESTDIR)$(LIBDIR)/liba0backup.a
	install -m 644 $(CAPI_DIR)/a0backup.pc $(DESTDIR)$(LIBDIR)/pkgconfig/a0backup.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/a0backup.h $(DESTDIR)$(LIBDIR)/liba0backup.so* \
	      $(DESTDIR)$(LIBDIR)/liba0backup.a $(DESTDIR)$(LIBDIR)/pkgconfig/a0backup.pc
