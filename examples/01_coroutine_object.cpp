// SPDX-License-Identifier: MIT
// Tutorial 1, coroutine objects: calling a coroutine function runs nothing; it returns a task
// object, and only awaiting that object runs the body.
#include <corio/corio.hpp>
#include <corio/fmt.hpp>

#include <fmt/core.h>

bool foo_ran = false;

corio::task<int> foo() {
    foo_ran = true;
    co_return 1;
}

corio::task<> main_task() {
    corio::task<int> coro = foo();
    fmt::print("{}\n", coro);
    fmt::print("foo has run: {}\n", foo_ran);
    int result = co_await coro;
    fmt::print("foo has run: {}\n", foo_ran);
    fmt::print("{}\n", result);
}

int main() {
    corio::run(main_task());
}
