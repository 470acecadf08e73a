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
bench_bench_tls_SOURCES = bench/bench_tls.c
bench_bench_tls_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS) $(LIBCRYPTO_CFLAGS)
bench_bench_tls_LDADD = sdk/lib/libmsgsec-sdk-core.la $(LIBSSL_LIBS) \
	$(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
