import Foundation
import Metrics
import Synchronization

/// What a process reports about itself: in its heartbeat hash (`cs:{ops}:proc:<id>`, read with
/// redis-cli and `cs-admin status`) and as Prometheus metrics (`/metrics`).
///
/// Counters are atomics so the message path pays one atomic add per event; the swift-metrics
/// twins feed the Prometheus registry.
public final class ProcessStats: Sendable {
    public let role: String
    public let id: String
    /// Milliseconds since the epoch when the process started.
    public let startedAt: Int

    private let messagesInCount = Atomic<Int>(0)
    private let messagesOutCount = Atomic<Int>(0)
    private let connectionCount = Atomic<Int>(0)
    private let streamLagValue = Atomic<Int>(0)
    private let lastErrorValue = Mutex<(text: String, at: Int)>(("", 0))

    private let messagesInCounter: Counter
    private let messagesOutCounter: Counter
    private let errorCounter: Counter
    private let connectionsGauge: Gauge
    private let streamLagGauge: Gauge
    /// Gateway: commit → written to the client; dispatcher: accepted by a gateway → committed.
    public let latency: Metrics.Timer

    /// The software version every process reports.
    public static let version = "0.6.0"

    public init(role: String, id: String) {
        self.role = role
        self.id = id
        startedAt = Int(Date().timeIntervalSince1970 * 1000)
        let dimensions = [("role", role)]
        messagesInCounter = Counter(label: "cs_messages_in_total", dimensions: dimensions)
        messagesOutCounter = Counter(label: "cs_messages_out_total", dimensions: dimensions)
        errorCounter = Counter(label: "cs_logged_errors_total", dimensions: dimensions)
        connectionsGauge = Gauge(label: "cs_connections", dimensions: dimensions)
        streamLagGauge = Gauge(label: "cs_stream_lag", dimensions: dimensions)
        latency = Metrics.Timer(label: role == "gateway" ? "cs_delivery_latency_seconds" : "cs_commit_latency_seconds", dimensions: dimensions)
    }

    /// Client frames accepted (gateway), inbound entries processed (dispatcher), requests handled (notifier).
    public func messageIn(_ count: Int = 1) {
        messagesInCount.add(count, ordering: .relaxed)
        messagesInCounter.increment(by: count)
    }

    /// Frames written to clients (gateway), entries committed (dispatcher), notifications published (notifier).
    public func messageOut(_ count: Int = 1) {
        messagesOutCount.add(count, ordering: .relaxed)
        messagesOutCounter.increment(by: count)
    }

    public func connectionOpened() {
        let now = connectionCount.add(1, ordering: .relaxed).newValue
        connectionsGauge.record(now)
    }

    public func connectionClosed() {
        let now = connectionCount.subtract(1, ordering: .relaxed).newValue
        connectionsGauge.record(now)
    }

    /// Entries waiting to be read in the streams this process consumes.
    public func setStreamLag(_ lag: Int) {
        streamLagValue.store(lag, ordering: .relaxed)
        streamLagGauge.record(lag)
    }

    /// Remembers the last warning or error the process logged.
    public func recordError(_ text: String) {
        let at = Int(Date().timeIntervalSince1970 * 1000)
        lastErrorValue.withLock { $0 = (String(text.prefix(300)), at) }
        errorCounter.increment()
    }

    /// The heartbeat hash fields.
    public func heartbeatFields(now: Int) -> [(String, String)] {
        let lastError = lastErrorValue.withLock { $0 }
        return [
            ("id", id), ("role", role), ("version", Self.version), ("host", ProcessInfo.processInfo.hostName),
            ("pid", String(ProcessInfo.processInfo.processIdentifier)), ("startedAt", String(startedAt)), ("updatedAt", String(now)),
            ("connections", String(connectionCount.load(ordering: .relaxed))),
            ("messagesIn", String(messagesInCount.load(ordering: .relaxed))),
            ("messagesOut", String(messagesOutCount.load(ordering: .relaxed))),
            ("streamLag", String(streamLagValue.load(ordering: .relaxed))),
            ("lastError", lastError.text), ("lastErrorAt", String(lastError.at)),
        ]
    }
}
