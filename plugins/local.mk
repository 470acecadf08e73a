# Providers. null is built into libmsgsec (core/local.mk); AKMA and SEAL
# TLS-PSK are modules installed into $(providerdir).
EXTRA_DIST += plugins/null/README

# AKMA (TS 33.535): the UE and AF sides of TLS with K_AF.
provider_LTLIBRARIES += plugins/akma/akma.la
plugins_akma_akma_la_SOURCES = plugins/akma/akma.c
plugins_akma_akma_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
plugins_akma_akma_la_LDFLAGS = $(MODULE_LDFLAGS)
plugins_akma_akma_la_LIBADD = sdk/lib/libmsgsec-sdk.la $(LIBCRYPTO_LIBS) \
	$(PTHREAD_LIBS)

# SEAL TLS-PSK (TR 33.862 #5): PSKs from SEAL key management, a K_MSG
# derivation or a PSK file; SEAL authorization.
provider_LTLIBRARIES += plugins/seal-tlspsk/seal-tlspsk.la
plugins_seal_tlspsk_seal_tlspsk_la_SOURCES = plugins/seal-tlspsk/seal_tlspsk.c
plugins_seal_tlspsk_seal_tlspsk_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
plugins_seal_tlspsk_seal_tlspsk_la_LDFLAGS = $(MODULE_LDFLAGS)
plugins_seal_tlspsk_seal_tlspsk_la_LIBADD = sdk/lib/libmsgsec-sdk.la \
	$(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
