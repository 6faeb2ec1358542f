// SPDX-License-Identifier: MIT
// Tutorial 2, await: `co_await` runs a coroutine and gives back its value.
#include <corio/corio.hpp>

#include <fmt/core.h>

corio::task<int> foo() {
    co_return 1;
}

corio::task<> main_task() {
    int result = co_await foo();
    fmt::print("{}\n", result);
}

int main() {
    corio::run(main_task());
}
