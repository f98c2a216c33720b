import CSTestSupport
import Foundation
import Testing

/// Crash safety of the notifier: requests live in the stream `cs:{notify}:in` until a notifier
/// XACKs them after the work; a notifier that dies leaves them pending and another one takes
/// them over after the claim idle time (5 s). Nothing is lost, and clients see each once.
extension EndToEnd {
    /// `count` notifications to customers (`POST`, 8 at a time); returns their ids.
    static func postMany(_ gateway: GatewayHandle, count: Int, label: String) async throws -> [String] {
        try await withThrowingTaskGroup(of: String.self) { group in
            var ids: [String] = []
            for index in 0..<count {
                if index >= 8, let id = try await group.next() { ids.append(id) }
                group.addTask {
                    let response = try await gateway.http.post(
                        "/v1/notifications", json: ["audience": "customers", "body": .string("\(label) #\(index)")], headers: Self.adminHeaders)
                    guard response.status == 202, let id = response.json?["id"]?.stringValue else {
                        throw GatewayHTTPError.unexpectedResponse(request: "POST /v1/notifications", response)
                    }
                    return id
                }
            }
            for try await id in group { ids.append(id) }
            return ids
        }
    }

    /// Entries of `cs:{notify}:in` pending in group `notifiers` (read, not XACKed), by consumer.
    static func pendingNotifierWork(_ cluster: Cluster) async throws -> [String: Int] {
        let lines = try await cluster.redisCommand(["XPENDING", "cs:{notify}:in", "notifiers"])
        // count, lowest id, highest id, then consumer / count pairs.
        guard lines.count >= 5 else { return [:] }
        var byConsumer: [String: Int] = [:]
        var index = 3
        while index + 1 < lines.count {
            byConsumer[lines[index]] = Int(lines[index + 1]) ?? 0
            index += 2
        }
        return byConsumer
    }

    /// Each client received each id exactly once (and nothing else).
    static func expectEachOnce(_ clients: [ChatClient], _ ids: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        for client in clients {
            var counts: [String: Int] = [:]
            for frame in client.received(type: "notification") { counts[frame.string("id") ?? "?", default: 0] += 1 }
            let missing = ids.filter { counts[$0] == nil }
            let repeated = counts.filter { $0.value > 1 }.map(\.key)
            #expect(missing.isEmpty && repeated.isEmpty && counts.count == ids.count,
                "\(client.label): \(counts.count) distinct notifications of \(ids.count); missing \(missing.count) \(missing.prefix(5)); repeated \(repeated.prefix(5))",
                sourceLocation: sourceLocation)
        }
    }

    @Test("notifications: a notifier SIGKILLed after reading a request, before the work: another one delivers it")
    func notificationsCrashBeforeWork() async throws {
        try await Self.withNotificationSystem(gateways: 2, notifiers: 1) { cluster, scope in
            let (gw1, gw2) = (cluster.gateways[0], cluster.gateways[1])
            let c1 = try await Self.connectCustomer(scope, gw1, name: "C1")
            let c2 = try await Self.connectCustomer(scope, gw2, name: "C2")
            let a = try #require(cluster.notifier("n-1"))

            // Stop n-1 while it is blocked in XREADGROUP: Redis still hands it the next entry (and
            // marks it pending for n-1), but n-1 never works on it.
            var blocked = false
            for _ in 0..<20 where !blocked {
                try await Task.sleep(for: .milliseconds(300))
                cluster.suspendProcess(a)
                let clients = try await cluster.redisCommand(["CLIENT", "LIST"])
                blocked = clients.contains { $0.contains("name=n-1-read ") && $0.contains("flags=b ") && $0.contains("cmd=xreadgroup") }
                if !blocked { cluster.continueProcess(a) }
            }
            try #require(blocked, "could not catch n-1 blocked in XREADGROUP")
            let id = try #require(try await Self.postNotification(gw1, ["audience": "customers", "body": "Survives a crash"])["id"]?.stringValue)
            let taken = try await Self.eventually(.seconds(5)) { try await Self.pendingNotifierWork(cluster)["n-1"] == 1 }
            let pendingAfterPost = try await Self.pendingNotifierWork(cluster)
            try #require(taken, "the request was not read by n-1: pending \(pendingAfterPost)")
            await cluster.kill(a)
            #expect(Self.notificationFrames(c1.client, id: id).isEmpty, "delivered before the crash?")

            // n-2 starts at once; the entry is idle for less than the claim time (5 s) then.
            let started = ContinuousClock.now
            try cluster.startNotifier(id: "n-2")
            try await Self.awaitNotification(c1.client, id: id, timeout: .seconds(15))
            try await Self.awaitNotification(c2.client, id: id, timeout: .seconds(5))
            cluster.logger.info("taken over after \(ContinuousClock.now - started)")
            try await Self.settle(.milliseconds(500), [c1.client, c2.client])
            Self.expectEachOnce([c1.client, c2.client], [id])
            let drained = try await Self.eventually(.seconds(5)) { try await Self.pendingNotifierWork(cluster).isEmpty }
            let stillPending = try await Self.pendingNotifierWork(cluster)
            #expect(drained, "entries still pending: \(stillPending)")
        }
    }

    @Test("notifications: SIGKILL in the middle of a fan-out of 300 loses nothing and repeats nothing")
    func notificationsCrashMidFanOut() async throws {
        try await Self.withNotificationSystem(gateways: 2, notifiers: 0) { cluster, scope in
            let (gw1, gw2) = (cluster.gateways[0], cluster.gateways[1])
            let c1 = try await Self.connectCustomer(scope, gw1, name: "C1")
            let c2 = try await Self.connectCustomer(scope, gw2, name: "C2")
            let ids = try await Self.postMany(gw1, count: 300, label: "fan-out")

            // n-1 works through the backlog; SIGKILL once it has sent a few.
            let a = try cluster.startNotifier(id: "n-1")
            let sentSome = try await Self.eventually(.seconds(30)) {
                a.log().components(separatedBy: "notification sent").count > 5
            }
            await cluster.kill(a)
            try #require(sentSome, "n-1 sent nothing: \(a.logTail())")
            let pending = try await Self.pendingNotifierWork(cluster)
            let sentByA = Set(ids.filter { a.log().contains($0) }).count
            cluster.logger.info("n-1 killed after \(sentByA) sends; pending \(pending)")
            #expect((pending["n-1"] ?? 0) > 0, "the kill came after n-1 finished its batch (nothing pending): the test proved nothing")

            try cluster.startNotifier(id: "n-2")
            let all = try await Self.eventually(.seconds(40)) {
                Set(c1.client.received(type: "notification").compactMap { $0.string("id") }).count >= ids.count
                    && Set(c2.client.received(type: "notification").compactMap { $0.string("id") }).count >= ids.count
            }
            try await Self.settle(.seconds(1), [c1.client, c2.client])
            #expect(all, "not every notification arrived after the takeover")
            Self.expectEachOnce([c1.client, c2.client], ids)
            let indexed = try await cluster.redisCommand(["ZCARD", "cs:{notify}:index"])
            #expect(indexed == ["300"], "cs:{notify}:index holds \(indexed) notifications, expected 300")
            let stillPending = try await Self.pendingNotifierWork(cluster)
            #expect(stillPending.isEmpty, "entries still pending: \(stillPending)")
        }
    }

    @Test("notifications: a backlog of 300 requests queued while no notifier ran is processed completely")
    func notificationsBacklog() async throws {
        try await Self.withNotificationSystem(gateways: 1, notifiers: 0) { cluster, scope in
            let gw1 = cluster.gateways[0]
            let c1 = try await Self.connectCustomer(scope, gw1, name: "C1")
            let ids = try await Self.postMany(gw1, count: 300, label: "backlog")
            #expect(try await cluster.redisCommand(["XLEN", "cs:{notify}:in"]) == ["300"])
            try cluster.startNotifier(id: "n-1")
            let all = try await Self.eventually(.seconds(30)) {
                Set(c1.client.received(type: "notification").compactMap { $0.string("id") }).count >= ids.count
            }
            try await Self.settle(.seconds(1), [c1.client])
            #expect(all, "only \(Set(c1.client.received(type: "notification").compactMap { $0.string("id") }).count) of 300 arrived")
            Self.expectEachOnce([c1.client], ids)
            let indexed = try await cluster.redisCommand(["ZCARD", "cs:{notify}:index"])
            #expect(indexed == ["300"], "cs:{notify}:index holds \(indexed) notifications, expected 300 (entries trimmed unread?)")
        }
    }
}
