import Metrics

/// Counters of the Redis client (swift-metrics; exported by whatever backend the process
/// bootstrapped, Prometheus in our processes, nothing in tests).
enum RedisMetrics {
    /// Reconnections after a connection was lost.
    static let reconnects = Counter(label: "cs_redis_reconnects_total")
    /// Commands or pipelines that failed: `kind` = `reply` (Redis answered with an error) or
    /// `connection` (no answer: unreachable, closed, timed out).
    static let replyErrors = Counter(label: "cs_redis_errors_total", dimensions: [("kind", "reply")])
    static let connectionErrors = Counter(label: "cs_redis_errors_total", dimensions: [("kind", "connection")])
}
