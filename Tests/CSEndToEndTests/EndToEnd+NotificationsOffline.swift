import CSTestSupport
import Foundation
import Testing

/// Offline delivery and receipts: a notification waits in an inbox until the user connects, is
/// delivered once per connection, comes again on every new connection until it is acknowledged,
/// and its receipts show in the API's counts.
extension EndToEnd {
    /// Waits until the notifier put notification `id` in `inbox` (`cs:{notify}:inbox:<inbox>`).
    static func awaitInbox(_ cluster: Cluster, _ inbox: String, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await Self.eventually(.seconds(10)) {
            try await !cluster.redisCommand(["ZSCORE", "cs:{notify}:inbox:\(inbox)", id]).joined().isEmpty
        }
        #expect(stored, "notification \(id) never reached inbox \(inbox)", sourceLocation: sourceLocation)
    }

    @Test("notifications: offline users get them on connect, again until acked, never after; counts show receipts")
    func notificationsOfflineDelivery() async throws {
        try await Self.withNotificationSystem(gateways: 2, notifiers: 1) { cluster, scope in
            let (gw1, gw2) = (cluster.gateways[0], cluster.gateways[1])
            // Ann has a visitor session but no connection; Ben is online the whole time.
            let ann = try await gw1.http.visitorSession(name: "Ann")
            let ben = try await Self.connectCustomer(scope, gw2, name: "Ben")

            let targeted = try #require(try await Self.postNotification(gw1, [
                "audience": "users", "users": [.string(ann.visitorID)], "title": "Your order", "body": "Order 1234 has shipped",
            ])["id"]?.stringValue)
            let broadcast = try #require(try await Self.postNotification(gw2, [
                "audience": "customers", "body": "We are closed on Monday", "priority": "warning",
            ])["id"]?.stringValue)
            try await Self.awaitInbox(cluster, "user:\(ann.visitorID)", targeted)
            try await Self.awaitInbox(cluster, "customers", broadcast)
            try await Self.awaitNotification(ben.client, id: broadcast)
            try await Self.expectCounts(gw1, targeted, (0, 0, 0))
            try await Self.expectCounts(gw1, broadcast, (1, 0, 0))

            // First connection: both, once each, oldest first, right after hello.
            let first = try await Self.reconnectCustomer(scope, gw2, session: ann, label: "ann-1")
            try await Self.awaitNotification(first.client, id: targeted)
            try await Self.awaitNotification(first.client, id: broadcast)
            try await Self.settle(.milliseconds(300), [first.client])
            let ids = first.client.received(type: "notification").compactMap { $0.string("id") }
            #expect(ids == [targeted, broadcast], "on connect: notifications \(ids), expected [\(targeted), \(broadcast)] once each, oldest first")
            #expect(first.client.received.first?.type == "hello", "hello comes first: \(first.client.received.prefix(3))")
            try await Self.expectCounts(gw1, targeted, (1, 0, 0))
            try await Self.expectCounts(gw1, broadcast, (2, 0, 0))

            // Not acknowledged: the next connection (other gateway) gets both again.
            await first.client.close()
            let second = try await Self.reconnectCustomer(scope, gw1, session: ann, label: "ann-2")
            try await Self.awaitNotification(second.client, id: targeted)
            try await Self.awaitNotification(second.client, id: broadcast)

            // Ack one, read the other (read implies received); an unknown id is not_found.
            try await Self.sendReceipt(second.client, id: targeted, read: false)
            try await Self.sendReceipt(second.client, id: broadcast, read: true)
            try await second.client.send(["type": "notification.ack", "id": "n_doesnotexist"])
            let missing = try await second.client.waitFor(type: "error") { $0.string("id") == "n_doesnotexist" }
            #expect(missing.string("code") == "not_found", "ack of an unknown notification: \(missing)")
            try await second.client.send(["type": "notification.ack"])
            let invalid = try await second.client.waitFor(type: "error") { $0.string("code") == "invalid_field" }
            #expect(invalid.string("id") == nil, "ack without id: \(invalid)")
            try await Self.expectCounts(gw2, targeted, (1, 1, 0))
            try await Self.expectCounts(gw2, broadcast, (2, 1, 1))

            // Acknowledged: a third connection gets neither (but does get a new one).
            await second.client.close()
            let later = try #require(try await Self.postNotification(gw1, ["audience": "all", "body": "Later news"])["id"]?.stringValue)
            try await Self.awaitInbox(cluster, "all", later)
            let third = try await Self.reconnectCustomer(scope, gw2, session: ann, label: "ann-3")
            try await Self.awaitNotification(third.client, id: later)
            try await Self.settle(.milliseconds(500), [third.client, ben.client])
            let thirdIDs = third.client.received(type: "notification").compactMap { $0.string("id") }
            #expect(thirdIDs == [later], "after acking, the next connection got \(thirdIDs), expected only [\(later)]")
            // Ben never acked: live once, no repeat on the same connection.
            #expect(Self.notificationFrames(ben.client, id: broadcast).count == 1, "\(ben.client.received(type: "notification"))")
            #expect(Self.notificationFrames(ben.client, id: later).count == 1, "\(ben.client.received(type: "notification"))")

            // The list shows all three, newest first, with counts.
            let list = try await gw1.http.get("/v1/notifications?limit=10", headers: Self.adminHeaders)
            let items = list.json?["notifications"]?.arrayValue ?? []
            #expect(list.status == 200 && items.compactMap { $0["id"]?.stringValue } == [later, broadcast, targeted], "\(list)")
            #expect(items.last?["users"] == [.string(ann.visitorID)] && items.last?["audience"] == "users", "\(String(describing: items.last))")
            #expect(items.last?["createdBy"] == "admin" && items.last?["status"] == "sent", "\(String(describing: items.last))")

            // Receipt sets should expire with the notification (they are written after the
            // notifier's PEXPIREAT, so this is where a missing TTL shows).
            for kind in ["delivered", "acked", "read"] {
                let ttl = Int(try await cluster.redisCommand(["PTTL", "cs:{notify}:n:\(broadcast):\(kind)"]).joined()) ?? -3
                #expect(ttl > 0, "cs:{notify}:n:\(broadcast):\(kind) has PTTL \(ttl): receipt sets never expire")
            }
            let hashTTL = Int(try await cluster.redisCommand(["PTTL", "cs:{notify}:n:\(broadcast)"]).joined()) ?? -3
            #expect(hashTTL > 6 * 24 * 3600 * 1000, "the notification hash expires with it (7 days): PTTL \(hashTTL)")

            for client in [first.client, third.client, ben.client] { Self.expectNoErrors(client) }
        }
    }
}
