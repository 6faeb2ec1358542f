// SPDX-License-Identifier: MIT
// Tutorial 5, async with: a resource whose entry and exit are themselves asynchronous.
// corio::with(resource, body) enters it, runs the body, and always exits it, handing aexit
// the body's exception when there is one.
#include <corio/corio.hpp>

#include <chrono>
#include <exception>
#include <fmt/core.h>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

class async_resource {
public:
    corio::task<async_resource*> aenter() {
        co_await corio::sleep(100ms); // e.g. open a connection
        fmt::print("enter async resource\n");
        co_return this;
    }

    corio::task<> aexit(std::exception_ptr error) {
        co_await corio::sleep(100ms); // e.g. close it
        if (!error) {
            fmt::print("exit async resource\n");
            co_return;
        }
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            fmt::print("exit async resource, after: {}\n", e.what());
        }
        // Returning normally lets the exception go on; returning bool true would swallow it.
    }
};

corio::task<> main_task() {
    co_await corio::with(async_resource{}, [](async_resource*) -> corio::task<> {
        fmt::print("using resource\n");
        co_return;
    });

    try {
        co_await corio::with(async_resource{}, [](async_resource*) -> corio::task<> {
            fmt::print("using resource\n");
            throw std::runtime_error("the body failed");
        });
    } catch (const std::runtime_error& e) {
        fmt::print("caught: {}\n", e.what());
    }
}

int main() {
    corio::run(main_task());
}
