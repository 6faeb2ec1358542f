// SPDX-License-Identifier: MIT
// with: the async_resource protocol, return rules, lifetimes and cancellation.
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

// The tutorial's resource: records what happens to it in a log the test owns.
struct logging_resource {
    std::vector<std::string>* log;
    std::exception_ptr seen = nullptr;
    int value = 42;

    auto aenter() -> corio::task<int*> {
        co_await corio::sleep(0ms);
        log->push_back("enter");
        co_return &value;
    }
    corio::task<> aexit(std::exception_ptr e) {
        co_await corio::sleep(0ms);
        seen = e;
        log->push_back(e ? "exit with " + corio::detail::describe(e) : "exit");
    }
};

// Yields itself: its member function `next` can be the body.
struct self_resource {
    int n = 0;
    corio::task<int> next() { co_return ++n; }
    corio::detail::ready<self_resource&> aenter() {
        return corio::detail::ready<self_resource&>(*this);
    }
    corio::task<> aexit(std::exception_ptr) { co_return; }
};

struct void_resource {
    std::vector<std::string>* log;
    corio::task<> aenter() {
        log->push_back("enter");
        co_return;
    }
    corio::task<> aexit(std::exception_ptr) {
        log->push_back("exit");
        co_return;
    }
};

// aexit returns bool: `suppress` decides whether the body's exception is swallowed.
struct suppressing_resource {
    bool suppress;
    int entered = 0;
    corio::task<int> aenter() {
        ++entered;
        co_return entered;
    }
    corio::task<bool> aexit(std::exception_ptr) { co_return suppress; }
};

struct failing_enter {
    std::vector<std::string>* log;
    corio::task<> aenter() {
        log->push_back("enter");
        throw std::runtime_error("no entry");
        co_return;
    }
    corio::task<> aexit(std::exception_ptr) {
        log->push_back("exit");
        co_return;
    }
};

struct not_a_resource {
    corio::task<> aenter() { co_return; }
};

struct int_exit_resource {
    corio::task<> aenter() { co_return; }
    corio::task<int> aexit(std::exception_ptr) { co_return 1; }
};

template <class R, class B>
concept can_enter = requires(R resource, B body) {
    corio::with(std::move(resource), body);
};

} // namespace

TEST_CASE("the async_resource concept accepts resources and rejects other types", "[with]") {
    STATIC_REQUIRE(corio::async_resource<logging_resource>);
    STATIC_REQUIRE(corio::async_resource<suppressing_resource>);
    STATIC_REQUIRE(corio::async_resource<corio::task_group>);
    STATIC_REQUIRE(corio::async_resource<corio::timeout_scope>);
    STATIC_REQUIRE_FALSE(corio::async_resource<int>);
    STATIC_REQUIRE_FALSE(corio::async_resource<not_a_resource>);
    STATIC_REQUIRE_FALSE(corio::async_resource<int_exit_resource>); // aexit must give bool/void
}

TEST_CASE("with rejects a body that does not fit the entered value", "[with]") {
    auto takes_string = [](std::string&) -> corio::task<> {
        co_return;
    };
    auto not_a_coroutine = [](int*&) {
        return 1;
    };
    auto fits = [](int*&) -> corio::task<> {
        co_return;
    };
    STATIC_REQUIRE_FALSE(can_enter<logging_resource, decltype(takes_string)>);
    STATIC_REQUIRE_FALSE(can_enter<logging_resource, decltype(not_a_coroutine)>);
    STATIC_REQUIRE_FALSE(can_enter<int, decltype(fits)>);
    STATIC_REQUIRE(can_enter<logging_resource, decltype(fits)>);
}

TEST_CASE("with enters, runs the body with the entered value, exits, returns the result",
          "[with]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto use = [&log](int* value) -> corio::task<int> {
            log.push_back("body sees " + std::to_string(*value));
            co_await corio::sleep(1ms);
            co_return *value + 1;
        };
        int result = co_await corio::with(logging_resource{&log}, use);
        CHECK(result == 43);
        CHECK(log == std::vector<std::string>{"enter", "body sees 42", "exit"});
    };
    run_virtual(body());
}

TEST_CASE("a void aenter gives a body without arguments", "[with]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto use = [&log]() -> corio::task<std::string> {
            log.push_back("body");
            co_return "done";
        };
        std::string result = co_await corio::with(void_resource{&log}, use);
        CHECK(result == "done");
        CHECK(log == std::vector<std::string>{"enter", "body", "exit"});
    };
    run_virtual(body());
}

TEST_CASE("aexit sees the body's exception, which then propagates", "[with]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        logging_resource resource{&log};
        auto fail = [](int*) -> corio::task<> {
            co_await corio::sleep(1ms);
            throw std::runtime_error("body failed");
        };
        bool caught = false;
        try {
            co_await corio::with(resource, fail); // an lvalue: used in place
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "body failed";
        }
        CHECK(caught);
        CHECK(resource.seen != nullptr);
        CHECK(log == std::vector<std::string>{"enter", "exit with body failed"});
    };
    run_virtual(body());
}

TEST_CASE("aexit returning true suppresses the exception and with returns nullopt", "[with]") {
    auto body = []() -> corio::task<> {
        auto fail = [](int&) -> corio::task<int> {
            throw std::runtime_error("swallowed");
            co_return 0;
        };
        auto succeed = [](int& entered) -> corio::task<int> {
            co_return entered * 10;
        };
        std::optional<int> suppressed = co_await corio::with(suppressing_resource{true}, fail);
        CHECK_FALSE(suppressed.has_value());
        std::optional<int> value = co_await corio::with(suppressing_resource{true}, succeed);
        REQUIRE(value.has_value());
        CHECK(*value == 10);
        bool caught = false;
        try {
            co_await corio::with(suppressing_resource{false}, fail);
        } catch (const std::runtime_error&) {
            caught = true;
        }
        CHECK(caught);
    };
    run_virtual(body());
}

TEST_CASE("a resource passed as an lvalue is the caller's object", "[with]") {
    auto body = []() -> corio::task<> {
        suppressing_resource resource{false};
        auto nothing = [](int&) -> corio::task<> {
            co_return;
        };
        co_await corio::with(resource, nothing);
        co_await corio::with(resource, nothing);
        CHECK(resource.entered == 2);
    };
    run_virtual(body());
}

TEST_CASE("the body and its captures live in with's frame", "[with]") {
    // make_scope returns before the scope runs: its local string and its lambda are gone by
    // then, so the scope must own copies.
    auto make_scope = [](std::vector<std::string>& log) {
        std::string word = "captured";
        return corio::with(void_resource{&log}, [word, &log]() -> corio::task<std::size_t> {
            co_await corio::sleep(1ms);
            log.push_back(word);
            co_return word.size();
        });
    };
    auto body = [&make_scope]() -> corio::task<> {
        std::vector<std::string> log;
        corio::task<std::size_t> scope = make_scope(log);
        co_await corio::sleep(1ms);
        const auto got1 = co_await std::move(scope);
        CHECK(got1 == 8);
        CHECK(log == std::vector<std::string>{"enter", "captured", "exit"});
    };
    run_virtual(body());
}

TEST_CASE("when aenter fails neither the body nor aexit runs", "[with]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        bool ran = false;
        auto use = [&ran]() -> corio::task<> {
            ran = true;
            co_return;
        };
        bool caught = false;
        try {
            co_await corio::with(failing_enter{&log}, use);
        } catch (const std::runtime_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK_FALSE(ran);
        CHECK(log == std::vector<std::string>{"enter"});
    };
    run_virtual(body());
}

TEST_CASE("a cancelled body still exits the resource, which sees cancelled_error",
          "[with][cancel]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto scope = [&log]() -> corio::task<> {
            auto forever = [](int*) -> corio::task<> {
                co_await corio::sleep(1h);
            };
            co_await corio::with(logging_resource{&log}, forever);
        };
        auto h = corio::spawn(scope());
        co_await corio::sleep(1s);
        h.cancel("stop");
        bool cancelled = false;
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(log == std::vector<std::string>{"enter", "exit with cancelled: stop"});
    };
    run_virtual(body());
}

TEST_CASE("a pointer to a member function of the entered object is a body", "[with]") {
    auto body = []() -> corio::task<> {
        self_resource r;
        const int got = co_await corio::with(r, &self_resource::next);
        CHECK(got == 1);
        CHECK(r.n == 1);
    };
    run_virtual(body());
}
