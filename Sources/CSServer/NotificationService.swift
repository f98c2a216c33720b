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
        let replies = try await redis.pipeline(commands).checked()
        return ids.enumerated().compactMap { index, id in
            guard let notification = PushNotification(id: id, fields: replies[index * 4].fieldMap) else { return nil }
            return (notification, replies[index * 4 + 1].int ?? 0, replies[index * 4 + 2].int ?? 0, replies[index * 4 + 3].int ?? 0)
        }
    }

    /// KEYS = notification, receipt set, delivered set; ARGV = mustHaveBeenDelivered ('1'/'0'), user...
    /// Adds users to a receipt set that expires with the notification. Returns 0 when the
    /// notification does not exist (or, for acks and reads, was never delivered to the user).
    static let addReceipt = RedisScript(
        "cs_notify_add_receipt",
        """
        local expiry = redis.call('PEXPIRETIME', KEYS[1])
        if expiry < 0 then return 0 end
        if ARGV[1] == '1' and redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 0 then return 0 end
        redis.call('SADD', KEYS[2], unpack(ARGV, 2))
        redis.call('PEXPIREAT', KEYS[2], expiry)
        return 1
        """
    )

    /// Records that `userID` received (`acked`) or read (`read`) a notification delivered to
    /// them; false if it does not exist or never reached them.
    public func record(_ kind: String, notificationID: String, userID: String) async throws -> Bool {
        let keys: [RedisArgument] = [
            .init(RedisKeys.notification(notificationID)), .init(RedisKeys.notificationReceipts(notificationID, kind)),
            .init(RedisKeys.notificationReceipts(notificationID, "delivered")),
        ]
        guard try await redis.callFunction(Self.addReceipt, keys: keys, arguments: ["1", .init(userID)]).int == 1 else { return false }
        if kind == "read" {
            // Reading implies receiving.
            _ = try await redis.callFunction(
                Self.addReceipt,
                keys: [keys[0], .init(RedisKeys.notificationReceipts(notificationID, "acked")), keys[2]], arguments: ["1", .init(userID)])
        }
        return true
    }

    /// Records deliveries (one script call for any number of users).
    public func recordDelivered(notificationID: String, userIDs: [String]) async throws {
        guard !userIDs.isEmpty else { return }
        let delivered = RedisArgument(RedisKeys.notificationReceipts(notificationID, "delivered"))
        _ = try await redis.callFunction(
            Self.addReceipt, keys: [.init(RedisKeys.notification(notificationID)), delivered, delivered],
            arguments: ["0"] + userIDs.map { RedisArgument($0) })
    }

    /// Unexpired, sent, unacknowledged notifications for a user, oldest first (at most 100).
    public func pending(for userID: String, role: ParticipantRole, skills: [String], now: Int = nowMilliseconds()) async throws -> [PushNotification] {
        let selectors = PushNotification.Audience.selectors(role: role, skills: skills) + ["user:" + userID]
        let inboxes = try await redis.pipeline(selectors.map {
            ["ZRANGEBYSCORE", .init(RedisKeys.notificationInbox($0)), .init("(\(now)"), "+inf", "LIMIT", "0", "100"]
        }).checked()
        let ids = Array(Set(inboxes.flatMap { ($0.array ?? []).compactMap(\.string) })).sorted().prefix(100)
        guard !ids.isEmpty else { return [] }
        var commands: [[RedisArgument]] = []
        for id in ids {
            commands.append(["HGETALL", .init(RedisKeys.notification(id))])
            commands.append(["SISMEMBER", .init(RedisKeys.notificationReceipts(id, "acked")), .init(userID)])
        }
        let replies = try await redis.pipeline(commands).checked()
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
        }).checked()
        let unknown = zip(ids, replies).filter { $0.1.int != 1 }.map(\.0)
        guard unknown.isEmpty else {
            throw ChatError(.unknownUsers, "unknown users: " + unknown.prefix(20).joined(separator: ", "))
        }
    }
}
