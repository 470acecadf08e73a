# Benchmarks against raw OpenSSL, built and run by `make bench`.
# (Named BENCH_PROGS: automake takes any FOO_PROGRAMS for programs to
# install in FOOdir and refuses BENCH_PROGRAMS.)
BENCH_PROGS =

# K_AF derivations: msgsec's KDF against raw OpenSSL HMAC-SHA-256.
BENCH_PROGS += bench/bench_kdf
bench_bench_kdf_SOURCES = bench/bench_kdf.c
bench_bench_kdf_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
bench_bench_kdf_LDADD = sdk/lib/libmsgsec-sdk-core.la $(LIBCRYPTO_LIBS) \
	$(PTHREAD_LIBS)

# TLS-PSK handshakes and wrap+unwrap: the SDK engine against raw OpenSSL.
BENCH_PROGS += bench/bench_tls
bench_bench_tls_SOURCES = bench/bench_tls.c bench/benchutil.c bench/benchutil.h
bench_bench_tls_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS) $(LIBCRYPTO_CFLAGS)
bench_bench_tls_LDADD = sdk/lib/libmsgsec-sdk-core.la $(LIBSSL_LIBS) \
	$(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

# Handshakes and send+recv through the whole stack (two cores, implicit
# negotiation, the tlstest provider module) against raw OpenSSL.
BENCH_PROGS += bench/bench_session
bench_bench_session_SOURCES = bench/bench_session.c bench/benchsess.c \
	bench/benchsess.h bench/benchutil.c bench/benchutil.h
bench_bench_session_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS) \
	$(LIBCRYPTO_CFLAGS) \
	-DMSGSEC_BENCH_PROVIDER_DIR='"$(abs_top_builddir)/tests/providers"'
bench_bench_session_LDADD = core/libmsgsec.la $(LIBSSL_LIBS) \
	$(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_bench_bench_session_DEPENDENCIES = tests/providers/tlstest.la

# SEAL TLS-PSK handshakes through the whole stack (two cores, implicit
# negotiation, the seal-tlspsk module, keys from derive and psk_file)
# against raw OpenSSL.
BENCH_PROGS += bench/bench_seal
bench_bench_seal_SOURCES = bench/bench_seal.c bench/benchsess.c \
	bench/benchsess.h bench/benchutil.c bench/benchutil.h
bench_bench_seal_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS) \
	$(LIBCRYPTO_CFLAGS) \
	-DMSGSEC_BENCH_SEAL_DIR='"$(abs_top_builddir)/plugins/seal-tlspsk"'
bench_bench_seal_LDADD = core/libmsgsec.la $(LIBSSL_LIBS) \
	$(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_bench_bench_seal_DEPENDENCIES = plugins/seal-tlspsk/seal-tlspsk.la

# Load on msgin5g-server: N concurrent AKMA clients in one epoll loop
# through msgsec-aanf. Run without arguments (as `make bench` does) it
# runs bench/run-load.sh, which starts the emulator and the server and runs
# it again with theirs; `make bench-load LOAD_ARGS="N M K"` does the same.
BENCH_PROGS += bench/msgin5g_load
bench_msgin5g_load_SOURCES = bench/msgin5g_load.c bench/benchutil.c \
	bench/benchutil.h examples/msgin5g/msg.c examples/msgin5g/msg.h
bench_msgin5g_load_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) \
	$(LIBSSL_CFLAGS) $(LIBCRYPTO_CFLAGS) $(JANSSON_CFLAGS) \
	-DMSGSEC_LOAD_SCRIPT='"$(abs_top_srcdir)/bench/run-load.sh"' \
	-DMSGSEC_LOAD_SRCDIR='"$(abs_top_srcdir)"' \
	-DMSGSEC_LOAD_BUILDDIR='"$(abs_top_builddir)"'
bench_msgin5g_load_LDADD = tools/libmsgsec-netio.la core/libmsgsec.la \
	$(JANSSON_LIBS) $(LIBSSL_LIBS) $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += bench/run-load.sh
bench-load: bench/msgin5g_load all
	@$(SHELL) $(top_srcdir)/bench/run-load.sh $(abs_top_srcdir) \
	  $(abs_top_builddir) $(LOAD_ARGS)
.PHONY: bench-load
