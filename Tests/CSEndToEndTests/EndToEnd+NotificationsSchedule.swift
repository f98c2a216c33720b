import CSTestSupport
import Foundation
import Testing

/// Scheduled notifications: kept in `cs:{notify}:scheduled`, sent within a second of `sendAt`,
/// once however many notifiers run, surviving notifier restarts; cancelled ones are never sent.
extension EndToEnd {
    /// ISO 8601 with milliseconds, `seconds` from now; and the same time in ms.
    static func isoTime(secondsFromNow seconds: Double) -> (text: String, ms: Int) {
        let date = Date().addingTimeInterval(seconds)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = formatter.string(from: date)
        return (text, Int((formatter.date(from: text) ?? date).timeIntervalSince1970 * 1000))
    }

    static func nowMs() -> Int { Int(Date().timeIntervalSince1970 * 1000) }

    /// Waits until `GET /v1/notifications/{id}` shows `status`.
    static func awaitStatus(_ gateway: GatewayHandle, _ id: String, _ status: String, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var last: HTTPResponse?
        let reached = try await Self.eventually(timeout) {
            last = try await Self.getNotification(gateway, id)
            return last?.status == 200 && last?.json?["status"]?.stringValue == status
        }
        #expect(reached, "notification \(id) never showed status \(status): \(last.map(\.description) ?? "")", sourceLocation: sourceLocation)
    }

    @Test("notifications: sendAt with two notifiers fires once, within a second, across a restart; DELETE stops it")
    func notificationsScheduled() async throws {
        try await Self.withNotificationSystem(gateways: 2, notifiers: 2) { cluster, scope in
            let (gw1, gw2) = (cluster.gateways[0], cluster.gateways[1])
            let c1 = try await Self.connectCustomer(scope, gw1, name: "C1")
            let c2 = try await Self.connectCustomer(scope, gw2, name: "C2")
            let clients = [c1.client, c2.client]
            let publishesBefore = try await cluster.commandCalls("publish")

            // A is sent; C is cancelled before its time.
            let timeA = Self.isoTime(secondsFromNow: 3.5)
            let a = try await Self.postNotification(gw1, ["audience": "customers", "body": "Scheduled A", "sendAt": .string(timeA.text)])
            let idA = try #require(a["id"]?.stringValue)
            #expect(a["status"] == "scheduled", "POST with a future sendAt: \(a)")
            let timeC = Self.isoTime(secondsFromNow: 3.5)
            let idC = try #require(try await Self.postNotification(gw2, ["audience": "all", "body": "Scheduled C", "sendAt": .string(timeC.text)])["id"]?.stringValue)
            try await Self.awaitStatus(gw1, idA, "scheduled")
            try await Self.awaitStatus(gw1, idC, "scheduled")
            let score = try await cluster.redisCommand(["ZSCORE", "cs:{notify}:scheduled", idA]).joined()
            #expect(Int(score) == timeA.ms, "cs:{notify}:scheduled score of \(idA): \(score), expected sendAt \(timeA.ms)")

            // Restart n-1 before the time (n-2 keeps running).
            let n1 = try #require(cluster.notifier("n-1"))
            let exit = try await cluster.stopNotifier(n1)
            #expect(exit.isSuccess, "n-1 on SIGTERM: \(exit)")
            try cluster.startNotifier(id: "n-1")

            let cancel = try await gw1.http.request("DELETE", "/v1/notifications/\(idC)", body: nil, headers: Self.adminHeaders, timeout: .seconds(30))
            #expect(cancel.status == 202, "DELETE \(idC): \(cancel)")
            try await Self.awaitStatus(gw2, idC, "cancelled")
            #expect(Self.nowMs() < timeA.ms - 300, "the setup took too long: the restart did not happen before sendAt")

            // A arrives within a second of sendAt, on both gateways.
            try await Self.awaitNotification(c1.client, id: idA, timeout: .seconds(10))
            let lateness = Double(Self.nowMs() - timeA.ms) / 1000
            #expect(lateness >= -0.05 && lateness <= 1.0, "scheduled notification arrived \(lateness) s after sendAt, expected 0…1 s")
            try await Self.awaitNotification(c2.client, id: idA, timeout: .seconds(5))

            // Past C's time too: nothing more arrives.
            try await Self.settle(.seconds(2), clients)
            for client in clients {
                #expect(Self.notificationFrames(client, id: idA).count == 1, "\(client.label): \(client.received(type: "notification"))")
                #expect(Self.notificationFrames(client, id: idC).isEmpty, "\(client.label) received cancelled \(idC)")
            }
            let publishes = try await cluster.commandCalls("publish") - publishesBefore
            #expect(publishes == 1, "\(publishes) PUBLISH calls for one scheduled and one cancelled notification, expected 1")
            let sentA = cluster.notifierLogLines(containing: "notification sent").filter { $0.contains(idA) }
            #expect(sentA.count == 1, "notifier logs show \(sentA.count) sends of \(idA): \(sentA)")
            #expect(cluster.notifierLogLines(containing: "notification sent").filter { $0.contains(idC) }.isEmpty, "cancelled \(idC) was sent")
            #expect(try await cluster.redisCommand(["ZCARD", "cs:{notify}:scheduled"]) == ["0"], "the scheduled set is empty once both are done")
            #expect(try await cluster.redisCommand(["ZRANGE", "cs:{notify}:index", "0", "-1"]).sorted() == [idA, idC].sorted())
            #expect(try await cluster.redisCommand(["ZSCORE", "cs:{notify}:inbox:all", idC]).joined().isEmpty, "cancelled \(idC) in the inbox")
            try await Self.awaitStatus(gw2, idA, "sent")
            try await Self.expectCounts(gw2, idA, (2, 0, 0))

            // Every notifier down across sendAt: nothing is lost, it goes out once when one is back.
            for process in cluster.notifiers where process.isRunning {
                #expect(try await cluster.stopNotifier(process).isSuccess, "\(process.name) on SIGTERM")
            }
            let timeD = Self.isoTime(secondsFromNow: 1.5)
            let idD = try #require(try await Self.postNotification(gw2, ["audience": "customers", "body": "Scheduled D", "sendAt": .string(timeD.text)])["id"]?.stringValue)
            try await Task.sleep(for: .seconds(3))
            #expect(Self.notificationFrames(c1.client, id: idD).isEmpty, "sent with no notifier running?")
            try cluster.startNotifier(id: "n-1")
            try cluster.startNotifier(id: "n-2")
            try await Self.awaitNotification(c1.client, id: idD, timeout: .seconds(15))
            try await Self.awaitNotification(c2.client, id: idD, timeout: .seconds(5))
            try await Self.settle(.seconds(1), clients)
            for client in clients {
                #expect(Self.notificationFrames(client, id: idD).count == 1, "\(client.label): \(client.received(type: "notification"))")
            }
            let sentD = cluster.notifierLogLines(containing: "notification sent").filter { $0.contains(idD) }
            #expect(sentD.count == 1, "notifier logs show \(sentD.count) sends of \(idD): \(sentD)")
            for client in clients { Self.expectNoErrors(client) }
        }
    }
}
