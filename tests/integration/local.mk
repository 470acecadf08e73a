# Integration tests: shell scripts that drive the built programs.
# Run through the shell so that they need no execute bit.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
# The helpers every script sources.
EXTRA_DIST += tests/integration/lib.sh
TESTS += tests/integration/test_cli.sh
EXTRA_DIST += tests/integration/test_cli.sh
TESTS += tests/integration/test_serve.sh
EXTRA_DIST += tests/integration/test_serve.sh
# The AAnF emulator through curl(1), h2c and HTTP/1.1.
TESTS += tests/integration/test_aanf.sh
EXTRA_DIST += tests/integration/test_aanf.sh
# The SEAL key-management emulator through curl(1), h2c and HTTP/1.1.
TESTS += tests/integration/test_seal_km.sh
EXTRA_DIST += tests/integration/test_seal_km.sh
# AKMA end to end: msgsec-aanf, msgsec serve/connect, openssl, gnutls-cli.
TESTS += tests/integration/test_akma_e2e.sh
EXTRA_DIST += tests/integration/test_akma_e2e.sh
# examples/openssl-psk-server (msgsec_psk_lookup_*) as an AKMA AF.
TESTS += tests/integration/test_example_openssl.sh
EXTRA_DIST += tests/integration/test_example_openssl.sh
# msgin5g-server and msgin5g-client: the demo's scenario checked (server
# under valgrind or LeakSanitizer), hostile and stalled clients, openssl
# s_client, the AAnF going away, SIGHUP and SIGTERM.
TESTS += tests/integration/test_msgin5g.sh
EXTRA_DIST += tests/integration/test_msgin5g.sh
# SEAL TLS-PSK end to end: msgsec-seal-km, msgsec serve/connect, openssl,
# gnutls-cli, AKMA and SEAL on one port, key-management failures.
TESTS += tests/integration/test_seal_e2e.sh
EXTRA_DIST += tests/integration/test_seal_e2e.sh
