// SPDX-License-Identifier: MIT
// Catch2's main, shared by every test binary, and the ledger check: after each test case,
// nothing may be left behind (task states alive, exceptions that reached the default
// exception handler unexpectedly, open file descriptors). A test that leaves something fails
// the run, named on stderr.
// Catch's own signal handlers are off: the SIGINT tests need SIGINT's default disposition,
// which is the only one run() takes over.
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <string>
#include <system_error>

#include "corio_test.hpp"

namespace {

struct snapshot {
    long live_tasks;
    long lost_exceptions;
    long open_fds;

    static snapshot take() {
        const auto& ledger = corio::detail::thread_ledger();
        return {
            ledger.live_tasks,
            ledger.lost_exceptions - corio_test::expected_lost_exceptions(),
            static_cast<long>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                            std::filesystem::directory_iterator{}))};
    }
};

int tests_that_left_something = 0;

class ledger_check : public Catch::TestEventListenerBase {
public:
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseStarting(const Catch::TestCaseInfo&) override { before_ = snapshot::take(); }

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        const snapshot after = snapshot::take();
        report(stats, "task states alive", before_.live_tasks, after.live_tasks);
        report(
            stats, "exceptions nobody retrieved", before_.lost_exceptions, after.lost_exceptions);
        report(stats, "open file descriptors", before_.open_fds, after.open_fds);
    }

private:
    static void
    report(const Catch::TestCaseStats& stats, const char* what, long before, long after) {
        if (before == after)
            return;
        ++tests_that_left_something;
        std::fprintf(stderr,
                     "LEDGER: test '%s' left %s: %ld before, %ld after\n",
                     stats.testInfo.name.c_str(),
                     what,
                     before,
                     after);
    }

    snapshot before_{};
};

} // namespace

CATCH_REGISTER_LISTENER(ledger_check)

// The backend CORIO_BACKEND asks for cannot be had here (io_uring in a container that
// forbids it): the binary says so and exits with 77, which CTest counts as skipped, not
// passed.
bool backend_unavailable() {
    try {
        corio::event_loop probe;
    } catch (const std::system_error& e) {
        std::fprintf(stderr,
                     "SKIPPED: CORIO_BACKEND=%s: %s\n",
                     corio_test::requested_backend().c_str(),
                     e.what());
        return true;
    }
    return false;
}

int main(int argc, char* argv[]) {
    if (backend_unavailable())
        return 77;
    const int failed = Catch::Session().run(argc, argv);
    if (failed == 0 && tests_that_left_something > 0)
        return 1;
    return failed;
}
