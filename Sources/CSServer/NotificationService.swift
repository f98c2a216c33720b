import CSCore
import CSRedis
import Foundation

/// Creating, reading and acknowledging notifications: shared by the gateway's HTTP API and cs-admin.
///
/// Requests go to the notifier's stream (`cs:{notify}:in`); the notifier stores, schedules and
/// fans out. Receipts (delivered, acknowledged, read) are sets per notification.
public struct NotificationService: Sendable {
    public let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    /// A notification request as the API takes it (docs/api.md, "Notifications").
    public struct Request: Decodable, Sendable {
        public var audience: String?
        public var users: [String]?
        public var title: String?
        public var body: String?
        public var priority: String?
        public var sendAt: String?
        public var expiresAt: String?

        public init(audience: String?, users: [String]? = nil, title: String? = nil, body: String?, priority: String? = nil, sendAt: String? = nil, expiresAt: String? = nil) {
            self.audience = audience
            self.users = users
            self.title = title
            self.body = body
            self.priority = priority
            self.sendAt = sendAt
            self.expiresAt = expiresAt
        }
    }

    /// Validates `request`, checks named users exist, and queues it for the notifier.
    public func create(_ request: Request, by creator: String, now: Int = nowMilliseconds()) async throws -> PushNotification {
        let notification = try Self.validate(request, by: creator, now: now)
        if case .users(let ids) = notification.audience { try await checkUsersExist(ids) }
        var command: [RedisArgument] = ["XADD", .init(RedisKeys.notifyStream), "*", "k", "create", "id", .init(notification.id)]
        for (name, value) in notification.fields { command += [.init(name), .init(value)] }
        _ = try await redis.send(command)
        return notification
    }

    /// Asks the notifier to cancel: a scheduled one is not sent; a sent one leaves the inboxes.
    public func cancel(_ id: String) async throws -> Bool {
        guard try await redis.send("EXISTS", .init(RedisKeys.notification(id))).int == 1 else { return false }
        _ = try await redis.send("XADD", .init(RedisKeys.notifyStream), "*", "k", "cancel", "id", .init(id))
        return true
    }

    /// A notification with its receipt counts, or nil.
    public func get(_ id: String) async throws -> (notification: PushNotification, delivered: Int, acknowledged: Int, read: Int)? {
        try await details([id]).first
    }

    /// The newest notifications first.
    public func list(limit: Int) async throws -> [(notification: PushNotification, delivered: Int, acknowledged: Int, read: Int)] {
        let ids = (try await redis.send("ZREVRANGE", .init(RedisKeys.notificationIndex), "0", .init(limit - 1)).array ?? []).compactMap(\.string)
        return try await details(ids)
    }

    private func details(_ ids: [String]) async throws -> [(notification: PushNotification, delivered: Int, acknowledged: Int, read: Int)] {
        guard !ids.isEmpty else { return [] }
        var commands: [[RedisArgument]] = []
        for id in ids {
            commands.append(["HGETALL", .init(RedisKeys.notification(id))])
            for kind in ["delivered", "acked", "read"] { commands.append(["SCARD", .init(RedisKeys.notificationReceipts(id, kind))]) }
        }
        let replies = try await redis.pipeline(commands)
        return ids.enumerated().compactMap { index, id in
            guard let notification = PushNotification(id: id, fields: replies[index * 4].fieldMap) else { return nil }
            return (notification, replies[index * 4 + 1].int ?? 0, replies[index * 4 + 2].int ?? 0, replies[index * 4 + 3].int ?? 0)
        }
    }

    /// Records that `userID` received (`acked`) or read (`read`) a notification; false if it does not exist.
    public func record(_ kind: String, notificationID: String, userID: String) async throws -> Bool {
        let replies = try await redis.pipeline([
            ["EXISTS", .init(RedisKeys.notification(notificationID))],
            ["SADD", .init(RedisKeys.notificationReceipts(notificationID, kind)), .init(userID)],
        ])
        guard replies.first?.int == 1 else {
            _ = try await redis.send("DEL", .init(RedisKeys.notificationReceipts(notificationID, kind)))
            return false
        }
        if kind == "read" {
            _ = try await redis.send("SADD", .init(RedisKeys.notificationReceipts(notificationID, "acked")), .init(userID))
        }
        return true
    }

    /// Records deliveries (one command for any number of users).
    public func recordDelivered(notificationID: String, userIDs: [String]) async throws {
        guard !userIDs.isEmpty else { return }
        _ = try await redis.send(["SADD", .init(RedisKeys.notificationReceipts(notificationID, "delivered"))] + userIDs.map { RedisArgument($0) })
    }

    /// Unexpired, sent, unacknowledged notifications for a user, oldest first (at most 100).
    public func pending(for userID: String, role: ParticipantRole, skills: [String], now: Int = nowMilliseconds()) async throws -> [PushNotification] {
        let selectors = PushNotification.Audience.selectors(role: role, skills: skills) + ["user:" + userID]
        let inboxes = try await redis.pipeline(selectors.map {
            ["ZRANGEBYSCORE", .init(RedisKeys.notificationInbox($0)), .init("(\(now)"), "+inf", "LIMIT", "0", "100"]
        })
        let ids = Array(Set(inboxes.flatMap { ($0.array ?? []).compactMap(\.string) })).sorted().prefix(100)
        guard !ids.isEmpty else { return [] }
        var commands: [[RedisArgument]] = []
        for id in ids {
            commands.append(["HGETALL", .init(RedisKeys.notification(id))])
            commands.append(["SISMEMBER", .init(RedisKeys.notificationReceipts(id, "acked")), .init(userID)])
        }
        let replies = try await redis.pipeline(commands)
        return ids.enumerated().compactMap { index, id -> PushNotification? in
            guard replies[index * 2 + 1].int != 1, let notification = PushNotification(id: id, fields: replies[index * 2].fieldMap),
                notification.status == .sent, notification.expiresAt > now
            else { return nil }
            return notification
        }.sorted { $0.createdAt < $1.createdAt }
    }

    private func checkUsersExist(_ ids: [String]) async throws {
        let replies = try await redis.pipeline(ids.map { id in
            id.hasPrefix("v_") ? ["EXISTS", .init(RedisKeys.visitorSeen(id))] : ["SISMEMBER", .init(RedisKeys.agentIDs), .init(id)]
        })
        let unknown = zip(ids, replies).filter { $0.1.int != 1 }.map(\.0)
        guard unknown.isEmpty else {
            throw ChatError(.unknownUsers, "unknown users: " + unknown.prefix(20).joined(separator: ", "))
        }
    }
}
