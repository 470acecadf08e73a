# Examples for integrators, built and run by `make check` (never installed):
# an OpenSSL TLS 1.3 server that asks msgsec only for PSKs, linked against
# the public library like any application.
check_PROGRAMS += examples/openssl-psk-server
examples_openssl_psk_server_SOURCES = examples/openssl_psk_server.c
examples_openssl_psk_server_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS)
examples_openssl_psk_server_LDADD = core/libmsgsec.la $(LIBSSL_LIBS) $(LIBCRYPTO_LIBS)
