// SPDX-License-Identifier: MIT
// corio/detail/cancel_answer.hpp: cancel_answer, what a waiter's cancel hook (and a backend
// asked to cancel an operation) says became of the operation.
// Layer L0.
#pragma once

namespace corio::detail {

enum class cancel_answer {
    stopped,  // the operation is withdrawn: the task resumes now with cancelled_error
    pending,  // a completion will still arrive (a child's end, a kernel's answer): resume on it
    too_late, // it completed already: the result is kept, the cancel waits for the next suspension
};

} // namespace corio::detail
