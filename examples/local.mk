# Examples for integrators, built and run by `make check` (never installed):
# an OpenSSL TLS 1.3 server that asks msgsec only for PSKs, linked against
# the public library like any application.
check_PROGRAMS += examples/openssl-psk-server
examples_openssl_psk_server_SOURCES = examples/openssl_psk_server.c
examples_openssl_psk_server_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS)
examples_openssl_psk_server_LDADD = core/libmsgsec.la $(LIBSSL_LIBS) $(LIBCRYPTO_LIBS)
# The MSGin5G Server and Client (doc/msgin5g.md): libmsgsec embedded
# through its integrator API in an epoll server and a client, with the
# MSGin5G-1 codec on jansson; their event loops and command-line helpers
# are the operator tool's (tools/netloop, tools/cli). Built by `make all`,
# never installed.
noinst_PROGRAMS += examples/msgin5g-server examples/msgin5g-client
MSGIN5G_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/examples/msgin5g \
	-I$(top_srcdir)/tools $(JANSSON_CFLAGS)
MSGIN5G_LDADD = tools/libmsgsec-netio.la core/libmsgsec.la $(JANSSON_LIBS) \
	$(LIBCRYPTO_LIBS)
MSGIN5G_SOURCES = examples/msgin5g/msg.c examples/msgin5g/msg.h
examples_msgin5g_server_SOURCES = examples/msgin5g/server.c \
	$(MSGIN5G_SOURCES)
examples_msgin5g_server_CPPFLAGS = $(MSGIN5G_CPPFLAGS)
examples_msgin5g_server_LDADD = $(MSGIN5G_LDADD)
examples_msgin5g_client_SOURCES = examples/msgin5g/client.c \
	$(MSGIN5G_SOURCES)
examples_msgin5g_client_CPPFLAGS = $(MSGIN5G_CPPFLAGS)
examples_msgin5g_client_LDADD = $(MSGIN5G_LDADD)
EXTRA_DIST += doc/msgin5g.md
