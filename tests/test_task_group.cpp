// SPDX-License-Identifier: MIT
// task_group: asyncio.TaskGroup's rules: waiting, failing fast, exception groups, outside
// cancellation, uncancel bookkeeping, closing, and lifetime.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <sys/wait.h>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::task<> fail_after(std::string what, std::chrono::milliseconds d) {
    co_await corio::sleep(d);
    throw std::runtime_error(what);
}

// Waits until cancelled, then fails instead of ending cancelled.
corio::task<> fail_when_cancelled() {
    try {
        co_await corio::sleep(1h);
    } catch (const corio::cancelled_error&) {
        throw std::runtime_error("failed while cancelled");
    }
}

} // namespace

TEST_CASE("a task_group waits for every child before its scope ends", "[task_group]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        corio::task_handle<int> a, b;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            a = tg.spawn(value_after(1, 100ms));
            b = tg.spawn(value_after(2, 300ms), "b");
            CHECK(tg.size() == 2);
            co_return; // the body ends at once; the scope does not
        };
        co_await corio::with(corio::task_group{}, scope);
        CHECK(loop.time() - start == 300ms);
        CHECK(a.result() == 1);
        CHECK(b.result() == 2);
        CHECK(b.name() == "b");
    };
    run_virtual(body());
}

TEST_CASE("the first failure cancels the other children and the body", "[task_group]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        std::vector<std::string> log;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(sleeper(1h, log, "slow"));
            tg.spawn(fail_after("boom", 10ms));
            co_await sleeper(1h, log, "body");
        };
        bool caught = false;
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::exception_group& g) {
            caught = true;
            CHECK(messages(g) == std::vector<std::string>{"boom"});
            CHECK(std::string(g.what()) == "corio: 1 exception in a task_group; the first: boom");
        }
        CHECK(caught);
        CHECK(loop.time() - start == 10ms);
        std::sort(log.begin(), log.end());
        CHECK(log == std::vector<std::string>{"body cancelled", "slow cancelled"});
    };
    run_virtual(body());
}

TEST_CASE("every failure, even one raised while cancelled, is in the group, the body's last",
          "[task_group]") {
    auto body = []() -> corio::task<> {
        auto scope = [](corio::task_group& tg) -> corio::task<> {
            tg.spawn(fail_after("first", 10ms));
            tg.spawn([]() -> corio::task<> {
                try {
                    co_await corio::sleep(1h);
                } catch (const corio::cancelled_error&) {
                }
                throw std::runtime_error("second");
            });
            try {
                co_await corio::sleep(1h);
            } catch (const corio::cancelled_error&) {
            }
            throw std::logic_error("body");
        };
        bool caught = false;
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::exception_group& g) {
            caught = true;
            CHECK(messages(g) == std::vector<std::string>{"first", "second", "body"});
            CHECK(std::string(g.what()) == "corio: 3 exceptions in a task_group; the first: first");
        }
        CHECK(caught);
    };
    run_virtual(body());
}

TEST_CASE("a body that awaits the failing child reports that failure once", "[task_group]") {
    auto body = []() -> corio::task<> {
        auto scope = [](corio::task_group& tg) -> corio::task<> {
            auto failing = tg.spawn(fail_after("boom", 10ms));
            co_await failing; // rethrows boom: the same failure the group collected
        };
        bool caught = false;
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::exception_group& g) {
            caught = true;
            CHECK(messages(g) == std::vector<std::string>{"boom"});
        }
        CHECK(caught);
        CHECK(corio::current_task().cancelling() == 0);
        co_await corio::sleep(1ms); // no stray cancellation
    };
    run_virtual(body());
}

TEST_CASE("a failing body cancels the children and is reported in the group", "[task_group]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(sleeper(1h, log, "child"));
            co_await corio::sleep(5ms);
            throw std::runtime_error("body broke");
        };
        bool caught = false;
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::exception_group& g) {
            caught = messages(g) == std::vector<std::string>{"body broke"};
        }
        CHECK(caught);
        CHECK(log == std::vector<std::string>{"child cancelled"});
    };
    run_virtual(body());
}

TEST_CASE("a child cancelled from outside does not fail the group", "[task_group]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        corio::task_handle<> victim;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            victim = tg.spawn(sleeper(1h, log, "victim"));
            tg.spawn(sleeper(20ms, log, "other"));
            co_await corio::sleep(5ms);
            victim.cancel();
        };
        co_await corio::with(corio::task_group{}, scope);
        CHECK(victim.cancelled());
        CHECK(log == std::vector<std::string>{"victim cancelled", "other done"});
    };
    run_virtual(body());
}

TEST_CASE("the enclosing task has no stray cancellation after the group failed",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        auto scope = [](corio::task_group& tg) -> corio::task<> {
            tg.spawn(fail_after("boom", 1ms));
            co_await corio::sleep(1h);
        };
        bool caught = false;
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::exception_group&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(corio::current_task().cancelling() == 0);
        co_await corio::sleep(10ms); // would throw cancelled_error if a request were left
    };
    run_virtual(body());
}

TEST_CASE("the body ends without suspending after a child failed: no stray cancellation",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        auto scope = [](corio::task_group& tg) -> corio::task<> {
            auto failing = tg.spawn(fail_after("boom", 0ms));
            co_await corio::sleep(1ms);
            CHECK(failing.done()); // the group cancelled the body while it slept ...
        };
        bool caught = false;
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::exception_group&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(corio::current_task().cancelling() == 0);
        co_await corio::sleep(1ms);
    };
    run_virtual(body());
}

TEST_CASE("cancelling the task in the scope cancels the children, waits, and propagates",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        std::vector<std::string> log;
        auto stubborn = [&log]() -> corio::task<> {
            try {
                co_await corio::sleep(1h);
            } catch (const corio::cancelled_error&) {
                log.push_back("stubborn cancelled");
            }
            co_await corio::sleep(50ms); // cleanup the scope must wait for
            log.push_back("stubborn cleaned up");
        };
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(stubborn);
            tg.spawn(sleeper(1h, log, "plain"));
            co_await corio::sleep(1h);
        };
        auto outer = corio::spawn([&]() -> corio::task<> {
            co_await corio::with(corio::task_group{}, scope);
            log.push_back("not reached");
        });
        co_await corio::sleep(10ms);
        const auto cancelled_at = loop.time();
        outer.cancel();
        bool cancelled = false;
        try {
            co_await outer;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(loop.time() - cancelled_at == 50ms);
        CHECK(log == std::vector<std::string>{
                         "stubborn cancelled", "plain cancelled", "stubborn cleaned up"});
    };
    run_virtual(body());
}

TEST_CASE("a cancellation that arrives while the scope waits for children still waits",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        std::vector<std::string> log;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(sleeper(1h, log, "child"));
            co_return; // now in aexit, waiting
        };
        auto outer = corio::spawn(
            [&]() -> corio::task<> { co_await corio::with(corio::task_group{}, scope); });
        co_await corio::sleep(10ms);
        outer.cancel();
        const auto at = loop.time();
        bool cancelled = false;
        try {
            co_await outer;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(loop.time() == at);
        CHECK(log == std::vector<std::string>{"child cancelled"});
        CHECK(outer.cancelled());
    };
    run_virtual(body());
}

TEST_CASE("an outside cancellation that meets a child's failure is armed again after the group",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(fail_when_cancelled());
            co_await corio::sleep(1h);
        };
        auto outer = corio::spawn([&]() -> corio::task<> {
            try {
                co_await corio::with(corio::task_group{}, scope);
            } catch (const corio::exception_group& group) {
                log.push_back("group: " + messages(group).at(0));
                log.push_back("cancelling " + std::to_string(corio::current_task().cancelling()));
            }
            try {
                co_await corio::sleep(1ms); // the outside request is delivered here
                log.push_back("not cancelled");
            } catch (const corio::cancelled_error& e) {
                log.push_back("cancelled: " + e.message());
                throw;
            }
        });
        co_await corio::sleep(10ms);
        CHECK(outer.cancel("outside"));
        CHECK(co_await ended_cancelled(outer));
        CHECK(outer.cancelled());
        CHECK(outer.cancelling() == 1);
        CHECK(log == std::vector<std::string>{
                         "group: failed while cancelled", "cancelling 1", "cancelled: outside"});
    };
    run_virtual(body());
}

TEST_CASE("an outside cancellation re-armed by a failed group ends a task that returns at once",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        auto scope = [](corio::task_group& tg) -> corio::task<> {
            tg.spawn(fail_when_cancelled());
            co_await corio::sleep(1h);
        };
        auto outer = corio::spawn([&]() -> corio::task<int> {
            try {
                co_await corio::with(corio::task_group{}, scope);
            } catch (const corio::exception_group&) {
            }
            co_return 1;
        });
        co_await corio::sleep(10ms);
        outer.cancel();
        CHECK(co_await ended_cancelled(outer));
    };
    run_virtual(body());
}

TEST_CASE("keyboard_interrupt from a child is rethrown as it is, not grouped",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn([]() -> corio::task<> {
                co_await corio::sleep(1ms);
                throw corio::keyboard_interrupt{};
            });
            tg.spawn(sleeper(1h, log, "sibling"));
            tg.spawn(fail_when_cancelled()); // an ordinary failure too: not reported
            co_await corio::sleep(1h);
        };
        bool interrupted = false;
        try {
            co_await corio::with(corio::task_group{}, scope);
        } catch (const corio::keyboard_interrupt&) {
            interrupted = true;
        } catch (const corio::exception_group&) {
            FAIL("keyboard_interrupt must not be grouped");
        }
        CHECK(interrupted);
        CHECK(log == std::vector<std::string>{"sibling cancelled"});
        CHECK(corio::current_task().cancelling() == 0);
    };
    run_virtual(body());
}

TEST_CASE("keyboard_interrupt from the body is rethrown as it is, after the children",
          "[task_group][cancel]") {
    auto body = []() -> corio::task<> {
        std::vector<std::string> log;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(sleeper(1h, log, "child"));
            co_await corio::sleep(1ms);
            throw corio::keyboard_interrupt{};
        };
        CHECK_THROWS_AS(co_await corio::with(corio::task_group{}, scope),
                        corio::keyboard_interrupt);
        CHECK(log == std::vector<std::string>{"child cancelled"});
    };
    run_virtual(body());
}

TEST_CASE("spawning into a group that is not open throws invalid_state_error", "[task_group]") {
    auto body = []() -> corio::task<> {
        corio::task_group unentered;
        CHECK_THROWS_AS(unentered.spawn(value_after(1, 0ms)), corio::invalid_state_error);

        corio::task_group group;
        bool shutting_down_refused = false;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn(fail_after("boom", 1ms));
            try {
                co_await corio::sleep(1h);
            } catch (const corio::cancelled_error&) {
                try {
                    tg.spawn(value_after(2, 0ms));
                } catch (const corio::invalid_state_error&) {
                    shutting_down_refused = true;
                }
                throw;
            }
        };
        try {
            co_await corio::with(group, scope);
        } catch (const corio::exception_group&) {
        }
        CHECK(shutting_down_refused);
        CHECK_THROWS_AS(group.spawn(value_after(3, 0ms)), corio::invalid_state_error);
        auto nothing = [](corio::task_group&) -> corio::task<> {
            co_return;
        };
        bool reentry_refused = false;
        try {
            co_await corio::with(group, nothing);
        } catch (const corio::invalid_state_error&) {
            reentry_refused = true;
        }
        CHECK(reentry_refused);
    };
    run_virtual(body());
}

TEST_CASE("a child may spawn a sibling while the scope waits", "[task_group]") {
    auto body = []() -> corio::task<> {
        auto& loop = corio::get_running_loop();
        const auto start = loop.time();
        corio::task_handle<int> sibling;
        auto scope = [&](corio::task_group& tg) -> corio::task<> {
            tg.spawn([&]() -> corio::task<> {
                co_await corio::sleep(10ms);
                sibling = tg.spawn(value_after(5, 20ms));
            });
            co_return;
        };
        co_await corio::with(corio::task_group{}, scope);
        CHECK(loop.time() - start == 30ms);
        CHECK(sibling.result() == 5);
    };
    run_virtual(body());
}

TEST_CASE("task_group::spawn(callable, args) keeps a capturing lambda alive", "[task_group]") {
    auto body = []() -> corio::task<> {
        std::string out;
        auto scope = [&out](corio::task_group& tg) -> corio::task<> {
            {
                std::string word = "alive";
                tg.spawn(
                    [word](std::string& sink, int times) -> corio::task<> {
                        co_await corio::sleep(5ms);
                        for (int i = 0; i < times; ++i)
                            sink += word;
                    },
                    std::ref(out),
                    2);
            } // the lambda temporary and `word` are gone; the child has its own copies
            co_return;
        };
        co_await corio::with(corio::task_group{}, scope);
        CHECK(out == "alivealive");
    };
    run_virtual(body());
}

TEST_CASE("nested groups: an inner failure reaches the outer group as a nested group",
          "[task_group]") {
    auto body = []() -> corio::task<> {
        auto inner = [](corio::task_group& tg) -> corio::task<> {
            tg.spawn(fail_after("deep", 5ms));
            co_return;
        };
        auto outer = [&inner](corio::task_group& tg) -> corio::task<> {
            tg.spawn(
                [&inner]() -> corio::task<> { co_await corio::with(corio::task_group{}, inner); });
            co_await corio::sleep(1h);
        };
        bool caught = false;
        try {
            co_await corio::with(corio::task_group{}, outer);
        } catch (const corio::exception_group& g) {
            REQUIRE(g.exceptions().size() == 1);
            try {
                std::rethrow_exception(g.exceptions().front());
            } catch (const corio::exception_group& nested) {
                caught = messages(nested) == std::vector<std::string>{"deep"};
            }
        }
        CHECK(caught);
    };
    run_virtual(body());
}

TEST_CASE("10,000 children come and go and the group holds none afterwards",
          "[task_group][stress]") {
    auto body = []() -> corio::task<> {
        long sum = 0;
        auto scope = [&sum](corio::task_group& tg) -> corio::task<> {
            for (int i = 0; i < 10000; ++i) {
                tg.spawn([&sum, i]() -> corio::task<> {
                    co_await corio::sleep(std::chrono::milliseconds(i % 7));
                    sum += i;
                });
                if (i % 1000 == 0)
                    co_await corio::sleep(0ms);
            }
            CHECK(tg.size() > 0);
            co_await corio::sleep(10ms);
            CHECK(tg.size() == 0); // finished children are dropped as they finish
        };
        co_await corio::with(corio::task_group{}, scope);
        CHECK(sum == 10000L * 9999 / 2);
        CHECK(other_live_tasks() == 0);
    };
    run_virtual(body());
}

TEST_CASE("dump_tasks shows a scope waiting for its children", "[task_group][dump]") {
    auto body = []() -> corio::task<> {
        std::string dump;
        auto scope = [&dump](corio::task_group& tg) -> corio::task<> {
            tg.spawn(value_after(1, 10ms), "kid");
            tg.spawn([&dump]() -> corio::task<> {
                std::ostringstream out;
                corio::dump_tasks(out);
                dump = out.str();
                co_return;
            });
            co_return;
        };
        co_await corio::with(corio::task_group{}, scope);
        CHECK(dump.find("task_group exit, 2 children running: 'kid'") != std::string::npos);
    };
    run_virtual(body());
}

TEST_CASE("a group that outlives its loop, destroyed with the loop's children, is quiet",
          "[task_group][lifetime]") {
    corio::task_group group; // declared before the loop: destroyed after it
    {
        corio::event_loop loop;
        auto user = [](corio::task_group& g) -> corio::task<> {
            auto scope = [](corio::task_group& tg) -> corio::task<> {
                tg.spawn(value_after(1, 1h));
                co_await corio::sleep(1h);
            };
            co_await corio::with(g, scope);
        };
        auto main = [&]() -> corio::task<> {
            corio::spawn(user(group));
            co_await corio::sleep(1ms);
        };
        loop.run_until_complete(main()); // leaves `user` suspended in the scope
    }
    CHECK(group.size() == 1); // the loop dropped the child's frame; the group still names it
}

TEST_CASE("destroying a group that still has children aborts with a message",
          "[task_group][lifetime]") {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::fflush(nullptr);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Misuse on purpose: enter by hand and drop the group without its aexit.
        auto misuse = []() -> corio::task<> {
            corio::task_group group;
            co_await group.aenter();
            group.spawn(value_after(1, 1h));
        };
        ::dup2(pipe_fds[1], 2);
        corio::run(misuse());
        ::_exit(0); // not reached: the group's destructor aborts
    }
    ::close(pipe_fds[1]);
    std::string text;
    char buffer[512];
    while (const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer)) {
        if (n < 0)
            break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);
    CHECK(text.find("task_group destroyed with 1 running children") != std::string::npos);
}
