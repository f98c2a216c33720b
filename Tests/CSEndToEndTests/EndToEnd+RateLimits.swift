import CSCore
import CSGateway
import CSTestSupport
import Foundation
import Testing

/// The limiter types of the gateway (RateLimiter.swift), driven by a fake clock: the caller
/// passes every instant, so nothing here sleeps.
@Suite("Rate limiter")
struct RateLimiterTests {
    let t0 = ContinuousClock.now
    func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(milliseconds)) }

    @Test func bucketStartsFullAndRefillsAtTheRate() {
        var bucket = TokenBucket(ratePerSecond: 20, burst: 40, now: at(0))
        for n in 0..<40 { let admitted = bucket.take(at: at(0)); #expect(admitted, "token \(n) of the burst") }
        do { let admitted = bucket.take(at: at(0)); #expect(!admitted) }
        do { let admitted = bucket.take(at: at(49)); #expect(!admitted, "less than one token after 49 ms at 20/s") }
        do { let admitted = bucket.take(at: at(50)); #expect(admitted, "one token after 50 ms") }
        do { let admitted = bucket.take(at: at(50)); #expect(!admitted) }
        // 1 s refills 20, never more than the burst.
        for n in 0..<20 { let admitted = bucket.take(at: at(1_050)); #expect(admitted, "refilled token \(n)") }
        do { let admitted = bucket.take(at: at(1_050)); #expect(!admitted) }
        #expect(bucket.isFull(at: at(60_000)))
        for _ in 0..<40 { let admitted = bucket.take(at: at(60_000)); #expect(admitted) }
        do { let admitted = bucket.take(at: at(60_000)); #expect(!admitted, "the bucket never holds more than the burst") }
    }

    @Test func bucketIgnoresAClockGoingBackwards() {
        var bucket = TokenBucket(ratePerSecond: 1, burst: 1, now: at(10_000))
        do { let admitted = bucket.take(at: at(10_000)); #expect(admitted) }
        do { let admitted = bucket.take(at: at(0)); #expect(!admitted) }
        do { let admitted = bucket.take(at: at(10_500)); #expect(!admitted) }
        do { let admitted = bucket.take(at: at(11_000)); #expect(admitted) }
    }

    @Test func sustainedRateIsAdmitted() {
        var limit = FrameRateLimit(framesPerSecond: 20, burst: 40, now: at(0))
        // 20 frames per second for a minute, evenly spaced: never limited.
        for n in 0..<1_200 { let admitted = limit.admit(at: at(n * 50)); #expect(admitted == .accept, "frame \(n)") }
    }

    @Test func overTheLimitRejectsThenClosesAfterThreeBurstsDropped() {
        var limit = FrameRateLimit(framesPerSecond: 20, burst: 40, now: at(0))
        for _ in 0..<40 { let admitted = limit.admit(at: at(0)); #expect(admitted == .accept) }
        for n in 1..<120 { let admitted = limit.admit(at: at(0)); #expect(admitted == .reject, "dropped frame \(n)") }
        do { let admitted = limit.admit(at: at(0)); #expect(admitted == .close, "the 120th dropped frame (3 × burst) closes") }
    }

    @Test func dropsSpreadOverMoreThanTheWindowDoNotClose() {
        var limit = FrameRateLimit(framesPerSecond: 1, burst: 2, now: at(0))
        // Burst 2: 6 drops within 10 s close. 5 drops, then 11 s later 5 more: not closed; a 6th is.
        for _ in 0..<2 { let admitted = limit.admit(at: at(0)); #expect(admitted == .accept) }
        for _ in 0..<5 { let admitted = limit.admit(at: at(0)); #expect(admitted == .reject) }
        for _ in 0..<2 { let admitted = limit.admit(at: at(11_000)); #expect(admitted == .accept, "refilled after 11 s") }
        for _ in 0..<5 { let admitted = limit.admit(at: at(11_000)); #expect(admitted == .reject) }
        do { let admitted = limit.admit(at: at(11_000)); #expect(admitted == .close, "6 drops within 10 s of the window's first drop") }
    }

    @Test func connectionLimitPerAddressWithExemptions() throws {
        var limit = ConnectionRateLimit(
            connectionsPerSecond: 20, burst: 50, exempt: [try #require(CIDRBlock("127.0.0.0/8")), try #require(CIDRBlock("::1"))])
        for _ in 0..<50 { let admitted = limit.admit("203.0.113.7", at: at(0)); #expect(admitted) }
        do { let admitted = limit.admit("203.0.113.7", at: at(0)); #expect(!admitted, "51st connection within the burst") }
        do { let admitted = limit.admit("203.0.113.8", at: at(0)); #expect(admitted, "another address has its own bucket") }
        do { let admitted = limit.admit("203.0.113.7", at: at(50)); #expect(admitted, "one more after 50 ms at 20/s") }
        for _ in 0..<1_000 {
            do { let admitted = limit.admit("127.0.0.9", at: at(0)); #expect(admitted) }
            do { let admitted = limit.admit("::1", at: at(0)); #expect(admitted) }
            do { let admitted = limit.admit("::ffff:127.0.0.1", at: at(0)); #expect(admitted) }
        }
        var off = ConnectionRateLimit(connectionsPerSecond: 0, burst: 1)
        for _ in 0..<1_000 { let admitted = off.admit("203.0.113.7", at: at(0)); #expect(admitted, "0 means no limit") }
    }

    @Test func connectionLimitMemoryIsBounded() {
        var limit = ConnectionRateLimit(connectionsPerSecond: 1, burst: 1, maxAddresses: 100)
        for n in 0..<1_000 { let admitted = limit.admit("10.0.\(n / 256).\(n % 256)", at: at(0)); #expect(admitted) }
        #expect(limit.buckets.count <= 100)
        // Buckets that refilled are dropped first.
        for n in 0..<1_000 { _ = limit.admit("10.1.\(n / 256).\(n % 256)", at: at(5_000 + n)) }
        #expect(limit.buckets.count <= 100)
    }

    @Test func addressBlocks() throws {
        func contains(_ block: String, _ address: String) throws -> Bool {
            try #require(CIDRBlock(block), "\(block)").contains(try #require(IPAddress(address), "\(address)"))
        }
        #expect(try contains("127.0.0.0/8", "127.255.0.1"))
        #expect(try !contains("127.0.0.0/8", "128.0.0.1"))
        #expect(try contains("10.1.2.3", "10.1.2.3"))
        #expect(try !contains("10.1.2.3", "10.1.2.4"))
        #expect(try contains("0.0.0.0/0", "8.8.8.8"))
        #expect(try !contains("0.0.0.0/0", "2001:db8::1"), "an IPv4 block holds no IPv6 address")
        #expect(try contains("192.168.0.0/23", "192.168.1.200"))
        #expect(try !contains("192.168.0.0/23", "192.168.2.1"))
        #expect(try contains("::1", "::1"))
        #expect(try contains("::1/128", "[::1]"))
        #expect(try contains("2001:db8::/32", "2001:db8:ffff::42"))
        #expect(try !contains("2001:db8::/32", "2001:db9::1"))
        #expect(try contains("127.0.0.0/8", "::ffff:127.0.0.1"), "IPv4-mapped IPv6 is the IPv4 address")
        #expect(try contains("fe80::/10", "fe80::1%eth0"))
        for bad in ["", "127.0.0.0/33", "::/129", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/-1", "1:2:3:4:5:6:7:8:9", "1::2::3", "x", "1.2.3.4/8/8", "12345::"] {
            #expect(CIDRBlock(bad) == nil, "\(bad) must not parse")
        }
    }
}

extension EndToEnd {
    static let rateLimitArguments = ["--rate-limit-frames-per-second", "20", "--rate-limit-burst", "40"]

    /// A flooding connection: the first frames (the burst) are served, the ones over the limit
    /// get `rate_limited` (with their id) and are not processed, and after 3 × burst dropped
    /// the connection is closed with 4008. Other connections, of the same user too, are not
    /// affected; the gateway keeps running.
    @Test("a frame flood gets rate_limited, is not processed, and ends with close 4008")
    func frameFloodIsLimited() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: Self.rateLimitArguments) { cluster, scope in
            let gateway = cluster.gateways[0]
            let flooder = try await Self.connectCustomer(scope, gateway, name: "Flood")
            let sibling = try await scope.connect(gateway.webSocketURL, token: flooder.session.token, label: "flood-sibling")
            try await sibling.hello()

            // 300 messages as fast as the socket takes them.
            let ids = (1...300).map { Self.messageID("f", $0) }
            for id in ids { try await flooder.client.sendMessage(id: id, body: "flood \(id)") }
            let close = try await flooder.client.waitForClose(timeout: .seconds(60))
            #expect(close.code == 4008, "expected close 4008 after repeated violations, got \(close)")

            let acked = Set(Self.ackIDs(flooder.client))
            let limited = flooder.client.received(type: "error").filter { $0.string("code") == "rate_limited" }
            let limitedIDs = Set(limited.compactMap { $0.string("id") })
            #expect(acked.count >= 40, "the burst must be served: \(acked.count) acked")
            #expect(acked.count < 120, "far more than the burst was served: \(acked.count)")
            #expect(limited.count == 120, "one rate_limited per dropped frame up to 3 × burst: \(limited.count)")
            #expect(limitedIDs.count == limited.count, "every rate_limited carries the frame's id")
            #expect(acked.isDisjoint(with: limitedIDs), "a rate-limited frame was acked")
            #expect(limited.allSatisfy { !($0.string("message") ?? "").isEmpty })

            // What was limited was not processed: the conversation holds exactly the acked messages.
            try await sibling.sendMessage(id: "s-after", body: "after the flood")
            _ = try await sibling.waitFor(type: "ack", timeout: .seconds(30)) { $0.string("id") == "s-after" }
            let echo = try await sibling.waitFor(type: "message", timeout: .seconds(60)) { $0.string("id") == "s-after" }
            let conversationID = try #require(echo.string("conversationId"))
            let history = try await gateway.http.fullHistory(conversationID, token: flooder.session.token)
            let stored = Set(history.filter { $0["type"]?.stringValue == "message" }.compactMap { $0["id"]?.stringValue })
            #expect(stored == acked.union(["s-after"]), "stored \(stored.count) messages, acked \(acked.count)")

            #expect(sibling.isOpen, "the user's other connection was closed too")
            #expect(cluster.unexpectedlyExited().isEmpty, "\(cluster.unexpectedlyExited().map(\.name))")
        }
    }

    /// A client at the sustained rate (typing included) is never limited; a short burst over it
    /// gets `rate_limited` for the extra frames only, and the connection stays open.
    @Test("frames at the sustained rate pass; a short burst over it is answered, not closed")
    func sustainedRateAndShortBurst() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: Self.rateLimitArguments) { cluster, scope in
            let gateway = cluster.gateways[0]
            let customer = try await Self.connectCustomer(scope, gateway, name: "Steady")
            // 10 frames per second for 3 seconds.
            for n in 1...30 {
                try await customer.client.sendText(#"{"type":"ping","id":"p-\#(n)"}"#)
                try await Task.sleep(for: .milliseconds(100))
            }
            _ = try await customer.client.waitFor(type: "pong", timeout: .seconds(30)) { $0.string("id") == "p-30" }
            #expect(customer.client.received(type: "error").isEmpty, "\(customer.client.received(type: "error"))")

            // A short burst of 60: about 40 served, the rest rate_limited, still open.
            try await Task.sleep(for: .seconds(2))
            for n in 1...60 { try await customer.client.sendText(#"{"type":"ping","id":"b-\#(n)"}"#) }
            let answers = try await customer.client.waitUntil("an answer to each of the 60 pings", timeout: .seconds(30)) { view -> [ReceivedFrame]? in
                let answered = view.log.filter { ($0.type == "pong" || $0.type == "error") && ($0.string("id") ?? "").hasPrefix("b-") }
                return answered.count >= 60 ? answered : nil
            }
            let limited = answers.filter { $0.type == "error" }
            #expect(limited.allSatisfy { $0.string("code") == "rate_limited" }, "\(limited)")
            #expect((10...20).contains(limited.count), "about 60 - 40 frames over the burst: \(limited.count) limited")
            #expect(customer.client.isOpen, "a short burst must not close the connection")
            try await Task.sleep(for: .seconds(1))
            try await customer.client.roundTrip()
            #expect(cluster.unexpectedlyExited().isEmpty)
        }
    }

    /// Per client address: over `--rate-limit-connections-per-second` (burst 3 here), a new
    /// WebSocket gets `rate_limited` and close 4008 right after the upgrade; once the bucket has
    /// refilled, connections are accepted again.
    @Test("too many new connections from one address get rate_limited and close 4008")
    func connectionFloodFromOneAddressIsLimited() async throws {
        try await Self.withSystem(
            gateways: 1, dispatchers: 1,
            gatewayArguments: ["--rate-limit-connections-per-second", "1", "--rate-limit-connection-burst", "3"]
        ) { cluster, _ in
            let gateway = cluster.gateways[0]
            let token = try await gateway.http.visitorSession(name: "Flood").token
            // The first frame of each connection: `hello`, or `error` rate_limited.
            func firstFrame() async throws -> JSONValue? {
                try await RawWebSocket.exchange(
                    port: gateway.port, path: "/v1/ws?token=\(token)", frames: [], stopAfterFirstFrame: true, timeout: .seconds(10)
                ).messages.first
            }
            var firsts: [String] = []
            for _ in 1...6 { firsts.append(try await firstFrame()?["type"]?.stringValue ?? "none") }
            let limited = firsts.filter { $0 == "error" }.count
            #expect(firsts.prefix(3).allSatisfy { $0 == "hello" } && limited >= 2, "3 pass, the rest (but one refilled) are limited: \(firsts)")
            try await Task.sleep(for: .seconds(3))
            #expect(try await firstFrame()?["type"]?.stringValue == "hello", "after the bucket refilled a connection is accepted")
            #expect(cluster.unexpectedlyExited().isEmpty)
        }
    }
}
