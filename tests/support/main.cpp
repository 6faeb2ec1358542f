// SPDX-License-Identifier: MIT
// Catch2's main, shared by every test binary.
// Catch's own signal handlers are off: the SIGINT tests need SIGINT's default disposition,
// which is the only one run() takes over.
#define CATCH_CONFIG_MAIN
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#include <catch2/catch.hpp>
