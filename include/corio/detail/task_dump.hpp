// SPDX-License-Identifier: MIT
// corio/detail/task_dump.hpp: dump_task, a live task's state and the chain of coroutines it
// is suspended in, for event_loop::dump_tasks and the debug report of an interrupt.
// Layer L3.
#pragma once

#include <corio/task.hpp>

#include <corio/detail/task_state.hpp>

#include <ostream>

namespace corio::detail {

/// Writes `<task 'name' state>` and, for a suspended task, its coroutines outermost first and
/// what it waits for. `running` is the task the loop is running now, if any.
inline void dump_task(std::ostream& out, const task_state& t, const task_state* running) {
    out << "<task '" << t.name() << "' ";
    if (&t == running)
        out << "running";
    else if (!t.started())
        out << "not started";
    else
        out << "suspended";
    if (t.cancelling() > 0)
        out << ", cancelling " << t.cancelling();
    out << ">\n";
    if (!t.started() || &t == running)
        return;
    for (const promise_base* p = &t.root(); p != nullptr; p = p->inner())
        out << "    " << p->site().function() << " (" << p->site().file() << ':' << p->site().line()
            << ")\n";
    if (const waiter* w = t.suspended_on()) {
        out << "    ";
        w->describe(out);
        out << '\n';
    }
}

} // namespace corio::detail
