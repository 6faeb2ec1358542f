// SPDX-License-Identifier: MIT
// udp_socket: datagrams between bound sockets, connected sockets, truncation, IPv6, many
// receivers at once, close() ending a pending receive, and bad use.
#include <array>
#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

std::string text_of(std::span<const std::byte> b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

} // namespace

TEST_CASE("datagrams go both ways between bound sockets, and a long one is truncated", "[udp]") {
    auto body = []() -> corio::task<> {
        corio::udp_socket a = co_await corio::udp_socket::bind("127.0.0.1", 0);
        corio::udp_socket b = co_await corio::udp_socket::bind("127.0.0.1", 0);
        CHECK(a.local_endpoint().port() != 0);
        CHECK(co_await a.send_to("ping", b.local_endpoint()) == 4);
        std::array<std::byte, 64> buffer{};
        corio::received_from got = co_await b.recv_from(buffer);
        CHECK(text_of(std::span(buffer).first(got.size)) == "ping");
        CHECK(got.peer == a.local_endpoint());
        co_await b.send_to("pong", got.peer);
        got = co_await a.recv_from(buffer);
        CHECK(text_of(std::span(buffer).first(got.size)) == "pong");

        co_await a.send_to(std::string(100, 'x'), b.local_endpoint());
        std::array<std::byte, 10> small{};
        CHECK((co_await b.recv_from(small)).size == 10); // the rest is dropped
        co_await a.send_to("next", b.local_endpoint());
        got = co_await b.recv_from(buffer);
        CHECK(text_of(std::span(buffer).first(got.size)) == "next");
    };
    corio::run(body());
}

TEST_CASE("a connected socket sends and receives without addresses, over IPv6 too", "[udp]") {
    auto body = []() -> corio::task<> {
        for (const char* host : {"127.0.0.1", "::1"}) {
            corio::udp_socket server = co_await corio::udp_socket::bind(host, 0);
            corio::udp_socket client = co_await corio::udp_socket::bind(host, 0);
            CHECK_THROWS_AS(co_await client.send("x"), corio::invalid_state_error);
            co_await client.connect(host, server.local_endpoint().port());
            CHECK(client.remote_endpoint() == server.local_endpoint());
            CHECK(co_await client.send("hello") == 5);
            std::array<std::byte, 16> buffer{};
            corio::received_from got = co_await server.recv_from(buffer);
            CHECK(got.peer == client.local_endpoint());
            co_await server.send_to("back", got.peer);
            const std::size_t n = co_await client.recv(buffer);
            CHECK(text_of(std::span(buffer).first(n)) == "back");
        }
    };
    corio::run(body());
}

TEST_CASE("many tasks receive at once, and close() ends the ones still waiting", "[udp]") {
    auto body = []() -> corio::task<> {
        corio::udp_socket server = co_await corio::udp_socket::bind("127.0.0.1", 0);
        corio::udp_socket client = co_await corio::udp_socket::bind("127.0.0.1", 0);
        std::vector<std::array<std::byte, 8>> buffers(5);
        std::vector<corio::task_handle<corio::received_from>> receivers;
        for (auto& b : buffers)
            receivers.push_back(corio::spawn(server.recv_from(b)));
        co_await settle();
        for (int i = 0; i < 3; ++i)
            co_await client.send_to(std::to_string(i), server.local_endpoint());
        int received = 0;
        for (int round = 0; round < 100 && received < 3; ++round) {
            co_await corio::sleep(1ms); // idle, so the loop looks at I/O
            received = 0;
            for (auto& r : receivers)
                received += r.done() ? 1 : 0;
        }
        CHECK(received == 3);
        server.close();
        co_await settle();
        int ended_by_close = 0;
        for (auto& r : receivers) {
            try {
                co_await r;
            } catch (const corio::invalid_state_error&) {
                ++ended_by_close;
            }
        }
        CHECK(ended_by_close == 2);
        CHECK_THROWS_AS(co_await server.send_to("x", client.local_endpoint()),
                        corio::invalid_state_error);
        server.close(); // a second close does nothing
    };
    corio::run(body());
}

TEST_CASE("a connected socket learns that nobody listens, and bad binds are named", "[udp]") {
    auto body = []() -> corio::task<> {
        corio::endpoint gone;
        {
            corio::udp_socket s = co_await corio::udp_socket::bind("127.0.0.1", 0);
            gone = s.local_endpoint();
        }
        corio::udp_socket client = co_await corio::udp_socket::bind("127.0.0.1", 0);
        co_await client.connect("127.0.0.1", gone.port());
        co_await client.send("anyone?");
        std::array<std::byte, 8> buffer{};
        try {
            co_await client.recv(buffer); // the ICMP port-unreachable comes back as an error
            FAIL("recv after sending to a closed port");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::connection_refused);
        }

        corio::udp_socket taken = co_await corio::udp_socket::bind("127.0.0.1", 0);
        try {
            co_await corio::udp_socket::bind("127.0.0.1", taken.local_endpoint().port());
            FAIL("bind to a port in use");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::address_in_use);
            CHECK_THAT(e.what(), Catch::Contains(taken.local_endpoint().to_string()));
        }
    };
    corio::run(body());
}
