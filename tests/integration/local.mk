# Integration tests: shell scripts that drive the built programs.
# Run through the shell so that they need no execute bit.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
TESTS += tests/integration/test_cli.sh
EXTRA_DIST += tests/integration/test_cli.sh
TESTS += tests/integration/test_serve.sh
EXTRA_DIST += tests/integration/test_serve.sh
# The AAnF emulator through curl(1), h2c and HTTP/1.1.
TESTS += tests/integration/test_aanf.sh
EXTRA_DIST += tests/integration/test_aanf.sh
# AKMA end to end: msgsec-aanf, msgsec serve/connect, openssl, gnutls-cli.
TESTS += tests/integration/test_akma_e2e.sh
EXTRA_DIST += tests/integration/test_akma_e2e.sh
# examples/openssl-psk-server (msgsec_psk_lookup_*) as an AKMA AF.
TESTS += tests/integration/test_example_openssl.sh
EXTRA_DIST += tests/integration/test_example_openssl.sh
