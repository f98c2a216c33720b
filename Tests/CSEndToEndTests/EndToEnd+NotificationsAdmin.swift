import CSTestSupport
import Foundation
import Testing

/// `cs-admin notify send/list/show/cancel` (docs/operations.md, "Notifications").
extension EndToEnd {
    /// Runs `cs-admin` expecting it to fail; returns its output (stdout and stderr).
    static func adminFailure(_ cluster: Cluster, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async -> String {
        do {
            let output = try await cluster.admin(arguments)
            Issue.record("cs-admin \(arguments.joined(separator: " ")) succeeded: \(output)", sourceLocation: sourceLocation)
            return output
        } catch let LaunchError.commandFailed(_, _, output) {
            return output
        } catch {
            Issue.record("cs-admin \(arguments.joined(separator: " ")): \(error)", sourceLocation: sourceLocation)
            return ""
        }
    }

    /// `cs-admin notify show <id>` as a dictionary of its `key value` lines.
    static func adminShow(_ cluster: Cluster, _ id: String) async throws -> [String: String] {
        var fields: [String: String] = [:]
        for line in try await cluster.admin(["notify", "show", id]).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            fields[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return fields
    }

    @Test("notifications: cs-admin notify send, list, show and cancel")
    func notificationsAdminCommands() async throws {
        try await Self.withNotificationSystem(gateways: 1, notifiers: 1) { cluster, scope in
            let gateway = cluster.gateways[0]
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let ben = try await Self.connectCustomer(scope, gateway, name: "Ben")

            // send: a broadcast now.
            let sent = try await cluster.admin(["notify", "send", "--audience", "customers", "--title", "Hello", "--body", "From cs-admin", "--priority", "warning"])
            let words = sent.split(separator: " ").map(String.init)
            #expect(words.count >= 2 && words[0] == "notification" && sent.contains("queued for sending"), "send printed: \(sent)")
            let id = words.count >= 2 ? words[1] : ""
            let frame = try await Self.awaitNotification(ann.client, id: id)
            #expect(frame.string("title") == "Hello" && frame.string("body") == "From cs-admin" && frame.string("priority") == "warning", "\(frame)")
            try await Self.awaitNotification(ben.client, id: id)
            try await Self.sendReceipt(ann.client, id: id, read: true)

            // send: targeted, to Ben only.
            let targeted = try await cluster.admin(["notify", "send", "--audience", "users", "--users", ben.id, "--body", "Just for Ben"])
            let targetedID = targeted.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            try await Self.awaitNotification(ben.client, id: targetedID)

            // show and list carry the receipt counts.
            try await Self.expectCounts(gateway, id, (2, 1, 1))
            let shown = try await Self.adminShow(cluster, id)
            #expect(shown["id"] == id && shown["status"] == "sent" && shown["priority"] == "warning" && shown["audience"] == "customers", "show: \(shown)")
            #expect(shown["title"] == "Hello" && shown["body"] == "From cs-admin", "show: \(shown)")
            #expect(shown["delivered"] == "2" && shown["acknowledged"] == "1" && shown["read"] == "1", "show: \(shown)")
            let targetedShown = try await Self.adminShow(cluster, targetedID)
            #expect(targetedShown["audience"] == "users" && targetedShown["users"] == ben.id, "show: \(targetedShown)")

            let list = try await cluster.admin(["notify", "list"]).split(separator: "\n").map(String.init)
            #expect(list.first?.hasPrefix("ID") == true && list.count == 3, "list: \(list)")
            let row = list.first { $0.hasPrefix(id) }?.split(separator: " ").map(String.init) ?? []
            #expect(row.count >= 8 && Array(row.prefix(7)) == [id, "sent", "warning", "customers", "2", "1", "1"] && row[7] == "Hello", "list row: \(row)")
            #expect(list.count > 1 && list[1].hasPrefix(targetedID), "newest first: \(list)")

            // send --send-at, then cancel before the time: never delivered.
            let sendAt = Self.isoTime(secondsFromNow: 3).text
            let scheduled = try await cluster.admin(["notify", "send", "--audience", "all", "--body", "Later", "--send-at", sendAt])
            #expect(scheduled.hasSuffix("scheduled\n"), "send --send-at printed: \(scheduled)")
            let scheduledID = scheduled.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            try await Self.awaitStatus(gateway, scheduledID, "scheduled")
            let cancelled = try await cluster.admin(["notify", "cancel", scheduledID])
            #expect(cancelled == "notification \(scheduledID) cancelled\n", "cancel printed: \(cancelled)")
            try await Self.awaitStatus(gateway, scheduledID, "cancelled")
            try await Self.settle(.seconds(4), [ann.client, ben.client])
            #expect(Self.notificationFrames(ann.client, id: scheduledID).isEmpty, "the cancelled notification was delivered")
            #expect(try await Self.adminShow(cluster, scheduledID)["status"] == "cancelled")

            // Refusals: the API's codes, exit status not 0.
            #expect(await Self.adminFailure(cluster, ["notify", "send", "--audience", "nobody", "--body", "x"]).contains("invalid_field"))
            #expect(await Self.adminFailure(cluster, ["notify", "send", "--audience", "all", "--body", ""]).contains("invalid_field"))
            #expect(await Self.adminFailure(cluster, ["notify", "send", "--audience", "users", "--users", "ghost", "--body", "x"]).contains("unknown_users"))
            #expect(await Self.adminFailure(cluster, ["notify", "show", "n_doesnotexist"]).contains("no notification"))
            #expect(await Self.adminFailure(cluster, ["notify", "cancel", "n_doesnotexist"]).contains("no notification"))
            for client in [ann.client, ben.client] { Self.expectNoErrors(client) }
        }
    }
}
