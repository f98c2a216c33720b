import Histogram
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// This machine's monotonic clock in nanoseconds (the same clock in every process, so worker
/// processes can time what the parent sent).
enum MonotonicClock {
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// A latency histogram in microseconds (HdrHistogram, 3 significant digits, up to 10 minutes),
/// safe to record into from any thread.
final class LatencyRecorder: Sendable {
    static let highestMicros: UInt64 = 600_000_000
    private let histogram = Mutex(LatencyRecorder.makeHistogram())

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: highestMicros, numberOfSignificantValueDigits: .three)
    }

    /// Records the time from `start` to `end` (monotonic nanoseconds).
    func record(from start: UInt64, to end: UInt64) {
        let micros = end > start ? (end - start) / 1_000 : 0
        histogram.withLock { _ = $0.record(min(max(micros, 1), Self.highestMicros)) }
    }

    func reset() { histogram.withLock { $0.reset() } }

    func add(_ other: Histogram<UInt64>) { histogram.withLock { $0.add(other) } }

    var snapshot: Histogram<UInt64> { histogram.withLock { $0 } }

    var summary: LatencySummary { LatencySummary(snapshot) }
}

/// Percentiles of a latency histogram, in microseconds.
struct LatencySummary: Codable, Sendable {
    var count: UInt64
    var mean: Double
    var p50: UInt64
    var p90: UInt64
    var p95: UInt64
    var p99: UInt64
    var p999: UInt64
    var max: UInt64

    init(_ histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        let empty = count == 0
        mean = empty ? 0 : (histogram.mean * 10).rounded() / 10
        p50 = empty ? 0 : histogram.valueAtPercentile(50)
        p90 = empty ? 0 : histogram.valueAtPercentile(90)
        p95 = empty ? 0 : histogram.valueAtPercentile(95)
        p99 = empty ? 0 : histogram.valueAtPercentile(99)
        p999 = empty ? 0 : histogram.valueAtPercentile(99.9)
        max = empty ? 0 : histogram.max
    }
}
