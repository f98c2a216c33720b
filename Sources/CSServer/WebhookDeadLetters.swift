import CSCore
import CSRedis

/// An endpoint's dead letters (`cs:{webhooks}:dead:<endpointId>`): deliveries `cs-webhooks` gave
/// up on, kept for `cs-admin webhook dead list|replay` (docs/operations.md "Webhooks").
public struct WebhookDeadLetters: Sendable {
    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    public struct Letter: Sendable, Equatable {
        public var deadID: String
        public var event: WebhookEvent
        public var error: String
        public var attempts: Int
        public var at: Int
    }

    /// Records a delivery given up on (`XADD … MAXLEN ~`).
    public func add(endpointID: String, event: WebhookEvent, entryID: String, error: String, attempts: Int, now: Int) async throws {
        let fields = event.fields + ["endpoint", endpointID, "error", String(error.prefix(200)), "attempts", String(attempts), "at", String(now), "entry", entryID]
        try await redis.pipeline([
            ["XADD", .init(RedisKeys.webhookDeadLetters(endpointID)), "MAXLEN", "~", .init(RedisKeys.webhookDeadLetterMaxLength), "*"]
                + fields.map { .init($0) }
        ]).checked()
    }

    /// The oldest `limit` dead letters of the endpoint.
    public func list(endpointID: String, limit: Int) async throws -> [Letter] {
        let reply = try await redis.send("XRANGE", .init(RedisKeys.webhookDeadLetters(endpointID)), "-", "+", "COUNT", .init(limit))
        if let error = reply.redisError { throw error }
        return (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count > 1, let deadID = parts[0].string else { return nil }
            let fields = parts[1].fieldMap
            guard let event = WebhookEvent(fields: fields) else { return nil }
            return Letter(
                deadID: deadID, event: event, error: fields["error"] ?? "", attempts: Int(fields["attempts"] ?? "") ?? 0,
                at: Int(fields["at"] ?? "") ?? 0)
        }
    }

    /// Moves the oldest `limit` dead letters back into the event stream, addressed to this
    /// endpoint only (field `to`), in their order; returns how many. Each move is one
    /// MULTI (`XADD` + `XDEL`), so a letter is never lost; an interrupted replay may send one twice.
    public func replay(endpointID: String, limit: Int) async throws -> Int {
        let letters = try await list(endpointID: endpointID, limit: limit)
        guard !letters.isEmpty else { return 0 }
        var commands: [[RedisArgument]] = []
        for letter in letters {
            commands.append(["MULTI"])
            commands.append(
                ["XADD", .init(RedisKeys.webhookEvents), "MAXLEN", "~", .init(RedisKeys.webhookEventsMaxLength), "*"]
                    + (letter.event.fields + ["to", endpointID]).map { .init($0) })
            commands.append(["XDEL", .init(RedisKeys.webhookDeadLetters(endpointID)), .init(letter.deadID)])
            commands.append(["EXEC"])
        }
        try await redis.pipeline(commands).checked()
        return letters.count
    }
}
