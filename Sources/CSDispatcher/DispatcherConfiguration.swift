import CSCore
import CSRedis
import CSServer

/// Everything a dispatcher process needs to start.
public struct DispatcherConfiguration: Sendable {
    public var redis: RedisConfiguration
    public var dispatcherID: String
    public var partitions: Int
    /// How long a partition lease lives without renewal; a dead dispatcher's partitions move after it.
    public var leaseMilliseconds: Int = 10_000
    /// Entries read per XREADGROUP.
    public var batchSize: Int = 200
    /// How long one XREADGROUP blocks waiting for entries.
    public var blockMilliseconds: Int = 1_000
    /// Approximate number of entries each conversation log keeps.
    public var historyMaxLength: Int = 10_000
    /// How long a conversation remembers client message ids for deduplication.
    public var dedupTTLSeconds: Int = 7 * 24 * 3600
    /// How often the waiting queues are drained even when nothing else triggers it.
    public var drainIntervalMilliseconds: Int = 500
    /// Grace after an agent's presence lapses before their conversations go back to the queue.
    public var presenceGraceMilliseconds: Int = 60_000
    /// Entries of history included in an assigned agent's `conversation.assigned`.
    public var assignmentHistory: Int = 50
    /// How long after a close the customer may rate the conversation or change their rating.
    public var ratingWindowMilliseconds: Int = 24 * 3600 * 1000
    /// Failures of one inbound entry (about the entry: a Redis error reply, a reply or value that
    /// does not decode) after which it moves to `cs:{p<N>}:dead`; transient failures do not count.
    public var maxAttempts: Int = 5
    /// Which requested skills get a queue (configured ones, those an agent has; at most
    /// `maxQueues` queues); anything else is `default`. See `SkillPolicy`.
    public var skillPolicy = SkillPolicy()

    /// Webhook event types some endpoint wants (refreshed by `WebhookWantedRefresher`).
    public var webhooks = WebhookWanted()
    /// How often `webhooks` is read again from Redis.
    public var webhookRefreshInterval: Duration = .seconds(2)

    /// Counters for the heartbeat and `/metrics`.
    public var stats: ProcessStats
    /// How often the heartbeat hash is written.
    public var heartbeatInterval: Duration = .seconds(5)
    /// Where `/metrics`, `/healthz` and `/readyz` are served; nil: not served.
    public var metricsAddress: (host: String, port: Int)?

    public init(redis: RedisConfiguration, dispatcherID: String, partitions: Int) {
        self.redis = redis
        self.dispatcherID = dispatcherID
        self.partitions = partitions
        stats = ProcessStats(role: "dispatcher", id: dispatcherID)
    }
}
