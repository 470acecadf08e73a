# The operator tool. It uses libmsgsec through the public API only.
bin_PROGRAMS += tools/msgsec
tools_msgsec_SOURCES = tools/msgsec.c
# Sockets, byte queues, the server and client event loops (netloop) and
# command-line helpers (sockets live here, not in the core): an internal
# library shared by the operator tool and the MSGin5G examples.
noinst_LTLIBRARIES += tools/libmsgsec-netio.la
tools_libmsgsec_netio_la_SOURCES = tools/cli.c tools/cli.h tools/netio.c \
	tools/netio.h tools/netloop.c tools/netloop.h
tools_libmsgsec_netio_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
# serve and connect: the diagnostic pair.
tools_msgsec_SOURCES += tools/serve_cmd.c tools/connect_cmd.c
tools_msgsec_LDADD = tools/libmsgsec-netio.la core/libmsgsec.la
tools_msgsec_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
tools_msgsec_LDADD += $(LIBCRYPTO_LIBS)
# akma: key derivations through the SDK library.
tools_msgsec_SOURCES += tools/akma_cmd.c tools/akma_cmd.h
tools_msgsec_LDADD += sdk/lib/libmsgsec-sdk.la
# What the emulators share: an h2c/HTTP/1.1 server on libnghttp2
# (h2server.c), their common options, ProblemDetails answers and log (emu.c).
noinst_LTLIBRARIES += tools/libmsgsec-emu.la
tools_libmsgsec_emu_la_SOURCES = tools/emu.c tools/emu.h tools/h2server.c \
	tools/h2server.h
tools_libmsgsec_emu_la_CPPFLAGS = $(AM_CPPFLAGS) $(NGHTTP2_CFLAGS) \
	$(LIBCRYPTO_CFLAGS)
# The AAnF emulator, answering with the SDK's AAnF codec and KDF.
bin_PROGRAMS += tools/msgsec-aanf
tools_msgsec_aanf_SOURCES = tools/msgsec-aanf.c
tools_msgsec_aanf_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
tools_msgsec_aanf_LDADD = tools/libmsgsec-emu.la sdk/lib/libmsgsec-sdk.la \
	$(NGHTTP2_LIBS) $(LIBCRYPTO_LIBS)
# The SEAL key-management emulator, answering with the SDK's SEAL codec.
bin_PROGRAMS += tools/msgsec-seal-km
tools_msgsec_seal_km_SOURCES = tools/msgsec-seal-km.c
tools_msgsec_seal_km_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
tools_msgsec_seal_km_LDADD = tools/libmsgsec-emu.la \
	sdk/lib/libmsgsec-sdk.la $(NGHTTP2_LIBS) $(LIBCRYPTO_LIBS)
