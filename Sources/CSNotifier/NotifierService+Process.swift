import CSCore
import CSRedis
import CSServer

extension NotifierService {
    func process(_ fields: [String: String]) async throws {
        configuration.stats.messageIn()
        guard let id = fields["id"], let kind = fields["k"] else {
            logger.warning("skipping malformed notification request")
            return
        }
        switch kind {
        case "create":
            guard let notification = PushNotification(id: id, fields: fields) else {
                logger.warning("skipping malformed notification", metadata: ["notification": "\(id)"])
                return
            }
            // Processed again after a crash: a cancel that came in between wins.
            if try await redis.send("HGET", .init(RedisKeys.notification(id)), "status").string == PushNotification.Status.cancelled.rawValue {
                return
            }
            try await store(notification)
            if notification.status == .scheduled {
                _ = try await redis.send("ZADD", .init(RedisKeys.scheduledNotifications), .init(notification.sendAt), .init(id))
                logger.info("notification scheduled", metadata: ["notification": "\(id)", "sendAt": "\(notification.sendAt)"])
            } else {
                try await deliver(notification)
            }
        case "send":
            let stored = try await redis.send("HGETALL", .init(RedisKeys.notification(id))).fieldMap
            guard var notification = PushNotification(id: id, fields: stored), notification.status != .cancelled else { return }
            notification.status = .sent
            try await deliver(notification)
        case "cancel":
            try await cancel(id)
        default:
            logger.warning("unknown notification request", metadata: ["kind": "\(kind)"])
        }
    }

    /// Stores the record (expiring with the notification) and lists it.
    private func store(_ notification: PushNotification) async throws {
        var hset: [RedisArgument] = ["HSET", .init(RedisKeys.notification(notification.id))]
        for (name, value) in notification.fields { hset += [.init(name), .init(value)] }
        // Every reply is checked: a write refused (WRONGTYPE, OOM...) must not let the request be
        // acknowledged as if the notification were stored; the request is processed again.
        try await redis.pipeline([
            hset,
            ["PEXPIREAT", .init(RedisKeys.notification(notification.id)), .init(notification.expiresAt)],
            ["ZADD", .init(RedisKeys.notificationIndex), .init(notification.createdAt), .init(notification.id)],
            ["ZREMRANGEBYSCORE", .init(RedisKeys.notificationIndex), "-inf", .init(nowMilliseconds() - 90 * 24 * 3600 * 1000)],
        ]).checked()
    }

    /// Puts the notification in the inboxes (for people offline now), then one PUBLISH reaches
    /// every gateway, which writes it to its own matching connections.
    private func deliver(_ notification: PushNotification) async throws {
        let selector: String
        var inboxes: [String]
        if case .users(let ids) = notification.audience {
            selector = "users:" + ids.joined(separator: ",")
            inboxes = ids.map { "user:" + $0 }
        } else {
            selector = notification.audience.selector
            inboxes = [selector]
        }
        var commands: [[RedisArgument]] = inboxes.flatMap { inbox -> [[RedisArgument]] in
            [
                ["ZADD", .init(RedisKeys.notificationInbox(inbox)), .init(notification.expiresAt), .init(notification.id)],
                ["ZREMRANGEBYSCORE", .init(RedisKeys.notificationInbox(inbox)), "-inf", .init(nowMilliseconds())],
                // The inbox goes away with its last notification (NX sets a first expiry, GT only extends it).
                ["PEXPIREAT", .init(RedisKeys.notificationInbox(inbox)), .init(notification.expiresAt), "NX"],
                ["PEXPIREAT", .init(RedisKeys.notificationInbox(inbox)), .init(notification.expiresAt), "GT"],
            ]
        }
        commands.append(["HSET", .init(RedisKeys.notification(notification.id)), "status", "sent"])
        // An inbox write refused means people offline now would never see it: fail before the
        // PUBLISH, leave the request unacknowledged, and deliver it again (ZADD and HSET repeat safely).
        try await redis.pipeline(commands).checked()
        _ = try await redis.send(
            "PUBLISH", .init(RedisKeys.broadcastChannel), .init(selector + " " + notification.id + " " + notification.frame))
        configuration.stats.messageOut()
        logger.info("notification sent", metadata: ["notification": "\(notification.id)", "audience": "\(notification.audience.selector)"])
    }

    private func cancel(_ id: String) async throws {
        let stored = try await redis.send("HGETALL", .init(RedisKeys.notification(id))).fieldMap
        guard let notification = PushNotification(id: id, fields: stored) else { return }
        var commands: [[RedisArgument]] = [
            ["HSET", .init(RedisKeys.notification(id)), "status", "cancelled"],
            ["ZREM", .init(RedisKeys.scheduledNotifications), .init(id)],
        ]
        if case .users(let ids) = notification.audience {
            for user in ids { commands.append(["ZREM", .init(RedisKeys.notificationInbox("user:" + user)), .init(id)]) }
        } else {
            commands.append(["ZREM", .init(RedisKeys.notificationInbox(notification.audience.selector)), .init(id)])
        }
        try await redis.pipeline(commands).checked()
        logger.info("notification cancelled", metadata: ["notification": "\(id)"])
    }
}
