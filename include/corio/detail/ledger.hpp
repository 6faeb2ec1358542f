// SPDX-License-Identifier: MIT
// corio/detail/ledger.hpp: per-thread counts of what could be lost: task states alive, and
// exceptions that reached the default exception handler because nobody took them.
// Layer L0. corio's tests check after each test that both are back where they started.
#pragma once

namespace corio::detail {

struct ledger {
    long live_tasks = 0;
    long lost_exceptions = 0;
};

/// This thread's ledger. Not atomic: a task lives and dies on its loop's thread.
inline ledger& thread_ledger() noexcept {
    thread_local ledger counts;
    return counts;
}

} // namespace corio::detail
