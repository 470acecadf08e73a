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
