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
bench_bench_session_SOURCES = bench/bench_session.c bench/benchutil.c \
	bench/benchutil.h
bench_bench_session_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS) \
	$(LIBCRYPTO_CFLAGS) \
	-DMSGSEC_BENCH_PROVIDER_DIR='"$(abs_top_builddir)/tests/providers"'
bench_bench_session_LDADD = core/libmsgsec.la $(LIBSSL_LIBS) \
	$(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_bench_bench_session_DEPENDENCIES = tests/providers/tlstest.la
