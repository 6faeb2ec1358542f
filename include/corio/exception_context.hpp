// SPDX-License-Identifier: MIT
// corio/exception_context.hpp: exception_context, what the loop's exception handler is told
// about an exception nobody else could take (asyncio's handler `context` dict).
// Layer L4.
#pragma once

#include <corio/task_handle.hpp>

#include <exception>
#include <functional>
#include <string>

namespace corio {

class event_loop;

/// asyncio: the `context` dict given to `loop.call_exception_handler`.
struct exception_context {
    std::string message;          ///< what happened, e.g. "Task exception was never retrieved"
    std::exception_ptr exception; ///< may be null
    task_handle<> task;           ///< the task concerned, or empty
};

/// `fn(loop, context)`; asyncio: the handler given to `loop.set_exception_handler`.
using exception_handler = std::function<void(event_loop&, const exception_context&)>;

} // namespace corio
