import CSTestSupport
import Foundation
import Testing

/// Notifications (issue 4): docs/api.md "Notifications", docs/protocol.md `notification`,
/// docs/redis-keys.md "Notifications". Real Redis, gateways started with `--admin-key`, real
/// `cs-notifier` processes. Run them with `--filter EndToEnd/notifications`.
extension EndToEnd {
    /// The back-office key the gateways accept as `X-Admin-Key` (at least 32 bytes).
    static let notificationAdminKey = "e2e-admin-key-0123456789abcdef-0123456789"
    static var adminHeaders: [String: String] { ["X-Admin-Key": notificationAdminKey] }

    /// Like `withSystem`, with `notifiers` notifier processes (`n-1`…) and gateways that accept
    /// the admin key. No dispatcher by default: notifications do not need one, and without one
    /// nothing else publishes, so `cmdstat_publish` counts the notifier's PUBLISHes only.
    static func withNotificationSystem<R: Sendable>(
        testName: String = #function,
        gateways: Int = 2,
        dispatchers: Int = 0,
        notifiers: Int = 1,
        _ body: (Cluster, ChatClientScope) async throws -> R
    ) async throws -> R {
        try await withSystem(
            testName: testName, gateways: gateways, dispatchers: dispatchers, notifiers: notifiers,
            gatewayArguments: ["--admin-key", notificationAdminKey], body)
    }

    // MARK: HTTP API

    /// `POST /v1/notifications` with the admin key; expects 202 and returns the notification.
    static func postNotification(
        _ gateway: GatewayHandle, _ body: JSONValue, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JSONValue {
        let response = try await gateway.http.post("/v1/notifications", json: body, headers: adminHeaders)
        #expect(response.status == 202, "POST /v1/notifications \(body): \(response)", sourceLocation: sourceLocation)
        let json = try #require(response.json, "POST /v1/notifications: \(response)", sourceLocation: sourceLocation)
        _ = try #require(json["id"]?.stringValue, "POST /v1/notifications without id: \(response)", sourceLocation: sourceLocation)
        return json
    }

    /// `GET /v1/notifications/{id}` with the admin key.
    static func getNotification(_ gateway: GatewayHandle, _ id: String) async throws -> HTTPResponse {
        try await gateway.http.get("/v1/notifications/\(id)", headers: adminHeaders)
    }

    /// `(delivered, acknowledged, read)` of a notification, nil while it is not stored.
    static func notificationCounts(_ gateway: GatewayHandle, _ id: String) async throws -> (Int, Int, Int)? {
        let response = try await getNotification(gateway, id)
        guard response.status == 200, let counts = response.json?["counts"] else { return nil }
        return (counts["delivered"]?.intValue ?? -1, counts["acknowledged"]?.intValue ?? -1, counts["read"]?.intValue ?? -1)
    }

    /// Polls the counts until they equal `expected` (receipts are recorded asynchronously).
    static func expectCounts(
        _ gateway: GatewayHandle, _ id: String, _ expected: (Int, Int, Int), timeout: Duration = .seconds(10),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var last: (Int, Int, Int)?
        while ContinuousClock.now < deadline {
            last = try await notificationCounts(gateway, id)
            if let last, last == expected { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("counts of \(id): expected (delivered, acknowledged, read) = \(expected), got \(last.map { "\($0)" } ?? "no notification")", sourceLocation: sourceLocation)
    }

    /// Polls `condition` every 100 ms until it holds; false after `timeout`.
    static func eventually(_ timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    // MARK: Frames

    /// `notification` frames with `id` that `client` received so far.
    static func notificationFrames(_ client: ChatClient, id: String) -> [ReceivedFrame] {
        client.received(type: "notification").filter { $0.string("id") == id }
    }

    /// Waits (without consuming) for the `notification` frame with `id`.
    @discardableResult
    static func awaitNotification(_ client: ChatClient, id: String, timeout: Duration = .seconds(15)) async throws -> ReceivedFrame {
        try await client.waitUntil("notification \(id)", timeout: timeout) { view in
            view.log.first { $0.type == "notification" && $0.string("id") == id }
        }
    }

    /// `notification.ack` or `notification.read`, then a ping round trip (the gateway handles a
    /// connection's frames in order, so the receipt is recorded when this returns).
    static func sendReceipt(_ client: ChatClient, id: String, read: Bool) async throws {
        try await client.send(["type": .string(read ? "notification.read" : "notification.ack"), "id": .string(id)])
        try await client.roundTrip()
    }

    // MARK: Broadcasts and targeted pushes

    @Test("notifications: all/agents/customers/skill/users reach exactly their clients on two gateways, one PUBLISH each")
    func notificationsBroadcastAudiences() async throws {
        try await Self.withNotificationSystem(gateways: 2, notifiers: 1) { cluster, scope in
            let gateways = cluster.gateways
            #expect(try await cluster.subscriberCount("cs:b") == 2, "every gateway subscribes to the broadcast channel cs:b")

            // 7 staff (3 with billing, one supervisor) and 13 customers, alternating gateways; the
            // first customer has a second connection on the other gateway (21 connections, 20 users).
            let billing: Set<String> = ["a1", "a2", "a3"]
            for id in ["a1", "a2", "a3", "a4", "a5", "a6"] {
                let skills = billing.contains(id) ? ["default", "billing"] : ["default"]
                try await cluster.addAgent(id: id, name: "Agent \(id)", password: Self.agentPassword, skills: skills, max: 2)
            }
            try await cluster.addAgent(id: "s1", name: "Sue", password: Self.agentPassword, max: 2, role: "supervisor")
            var connections: [(user: String, staff: Bool, client: ChatClient)] = []
            for (index, id) in ["a1", "a2", "a3", "a4", "a5", "a6", "s1"].enumerated() {
                let staff = try await Self.connectStaff(scope, gateways[index % 2], id: id, role: id == "s1" ? "supervisor" : "agent")
                connections.append((id, true, staff.client))
            }
            var customers: [Customer] = []
            for index in 0..<13 {
                let customer = try await Self.connectCustomer(scope, gateways[index % 2], name: "c\(index)")
                customers.append(customer)
                connections.append((customer.id, false, customer.client))
            }
            let second = try await Self.reconnectCustomer(scope, gateways[1], session: customers[0].session, label: "customer-c0-second")
            connections.append((customers[0].id, false, second.client))
            let allClients = connections.map(\.client)

            /// Sends one notification and checks: exactly the `expected` users' connections get
            /// it, once each; one PUBLISH; `delivered` counts those users.
            func check(_ what: String, _ request: JSONValue, expected: Set<String>) async throws -> ReceivedFrame? {
                let publishesBefore = try await cluster.commandCalls("publish")
                let id = try #require(try await Self.postNotification(gateways[0], request)["id"]?.stringValue)
                var sample: ReceivedFrame?
                for connection in connections where expected.contains(connection.user) {
                    sample = try await Self.awaitNotification(connection.client, id: id)
                }
                try await Self.settle(.milliseconds(500), allClients)
                for connection in connections {
                    let got = Self.notificationFrames(connection.client, id: id).count
                    let want = expected.contains(connection.user) ? 1 : 0
                    #expect(got == want, "\(what): \(connection.client.label) got \(got) notification frames, expected \(want)")
                }
                let publishes = try await cluster.commandCalls("publish") - publishesBefore
                #expect(publishes == 1, "\(what): \(publishes) PUBLISH calls for one notification, expected 1")
                try await Self.expectCounts(gateways[1], id, (expected.count, 0, 0))
                return sample
            }

            let everyone = Set(connections.map(\.user))
            let staff = Set(connections.filter(\.staff).map(\.user))
            let customerIDs = Set(customers.map(\.id))
            #expect(everyone.count == 20 && staff.count == 7 && customerIDs.count == 13)

            let body = "Maintenance tonight 22:00–23:00 UTC: \"chat\" stays up ✓"
            let frame = try await check("all", ["audience": "all", "title": "Maintenance", "body": .string(body), "priority": "urgent"], expected: everyone)
            let json = try #require(frame?.json?.objectValue, "notification frame: \(String(describing: frame))")
            #expect(Set(json.keys) == ["type", "id", "priority", "title", "body", "createdAt", "expiresAt"], "frame fields: \(json)")
            #expect(json["priority"] == "urgent" && json["title"] == "Maintenance" && json["body"]?.stringValue == body, "frame: \(json)")
            let createdAt = json["createdAt"]?.intValue ?? 0
            let expiresAt = json["expiresAt"]?.intValue ?? 0
            #expect(abs(createdAt - Int(Date().timeIntervalSince1970 * 1000)) < 60_000, "createdAt is ms since the epoch: \(json)")
            #expect(expiresAt - createdAt == 7 * 24 * 3600 * 1000, "default lifetime is 7 days: \(json)")

            _ = try await check("agents", ["audience": "agents", "body": "Team meeting at 15:00"], expected: staff)
            _ = try await check("customers", ["audience": "customers", "body": "New opening hours", "priority": "warning"], expected: customerIDs)
            _ = try await check("skill:billing", ["audience": "skill:billing", "body": "Invoices are late today"], expected: billing)
            let targeted: Set<String> = [customers[0].id, customers[1].id, "a4"]
            let users = JSONValue.array(targeted.sorted().map { .string($0) })
            _ = try await check("users", ["audience": "users", "users": users, "body": "Your ticket was answered"], expected: targeted)

            for client in allClients { Self.expectNoErrors(client) }
        }
    }
}
