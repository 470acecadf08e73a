# Providers. null is built into libmsgsec (core/local.mk); AKMA and SEAL
# TLS-PSK are modules installed into $(providerdir).
EXTRA_DIST += plugins/null/README
