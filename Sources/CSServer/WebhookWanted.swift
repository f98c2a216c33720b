import CSCore
import CSRedis
import Synchronization

/// The event types some registered webhook endpoint wants, as last read from
/// `cs:{webhooks}:endpoints`. Kept in memory so that recording events costs nothing when nobody
/// wants them: a dispatcher checks this set before building an event, and a chat message with no
/// endpoint wanting `message` adds no Redis command (docs/redis-keys.md "Webhooks").
///
/// Refreshed every few seconds (`WebhookWantedRefresher`): an endpoint added gets events from at
/// most one refresh interval after its registration on.
public final class WebhookWanted: Sendable {
    private let types = Mutex<Set<WebhookEventType>>([])

    public init(_ initial: Set<WebhookEventType> = []) {
        types.withLock { $0 = initial }
    }

    /// Whether some endpoint wants `type` (a memory read, no Redis).
    public func wants(_ type: WebhookEventType) -> Bool { types.withLock { $0.contains(type) } }

    /// Whether any endpoint wants anything: the one check a chat message pays when none does.
    public var wantsAny: Bool { types.withLock { !$0.isEmpty } }

    public var current: Set<WebhookEventType> { types.withLock { $0 } }

    /// Replaces the set with the types of the endpoints registered now (paused ones included:
    /// their events wait for them). An unreadable registration counts for nothing.
    public func refresh(from redis: RedisClient) async throws {
        let reply = try await redis.send("HVALS", .init(RedisKeys.webhookEndpoints))
        if let error = reply.redisError { throw error }
        let endpoints = (reply.array ?? []).compactMap { $0.string.flatMap(WebhookEndpoint.init(json:)) }
        let wanted = Set(endpoints.flatMap(\.types))
        types.withLock { $0 = wanted }
    }

    /// Records `events` (in order, one pipeline) in the event stream; nothing when empty.
    /// A failure throws: the caller leaves the inbound entry unacknowledged, so processing it
    /// again records the events again, with the same ids (at least once).
    public static func record(_ events: [WebhookEvent], on redis: RedisClient) async throws {
        guard !events.isEmpty else { return }
        let commands: [[RedisArgument]] = events.map { event in
            ["XADD", .init(RedisKeys.webhookEvents), "MAXLEN", "~", .init(RedisKeys.webhookEventsMaxLength), "*"] + event.fields.map { .init($0) }
        }
        try await redis.pipeline(commands).checked()
    }
}
