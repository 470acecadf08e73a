# The operator tool. It uses libmsgsec through the public API only.
bin_PROGRAMS += tools/msgsec
tools_msgsec_SOURCES = tools/msgsec.c tools/cli.c tools/cli.h
# serve and connect: the diagnostic pair (sockets live here, not in the core).
tools_msgsec_SOURCES += tools/serve_cmd.c tools/connect_cmd.c tools/netio.c \
	tools/netio.h
tools_msgsec_LDADD = core/libmsgsec.la
tools_msgsec_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
tools_msgsec_LDADD += $(LIBCRYPTO_LIBS)
# akma: key derivations through the SDK library.
tools_msgsec_SOURCES += tools/akma_cmd.c tools/akma_cmd.h
tools_msgsec_LDADD += sdk/lib/libmsgsec-sdk.la
# The AAnF emulator: an h2c/HTTP/1.1 server on libnghttp2 (h2server.c)
# answering with the SDK's AAnF codec and KDF.
bin_PROGRAMS += tools/msgsec-aanf
tools_msgsec_aanf_SOURCES = tools/msgsec-aanf.c tools/h2server.c \
	tools/h2server.h
tools_msgsec_aanf_CPPFLAGS = $(AM_CPPFLAGS) $(NGHTTP2_CFLAGS) \
	$(LIBCRYPTO_CFLAGS)
tools_msgsec_aanf_LDADD = sdk/lib/libmsgsec-sdk.la $(NGHTTP2_LIBS) \
	$(LIBCRYPTO_LIBS)
