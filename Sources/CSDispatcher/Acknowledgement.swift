import CSCore
import CSRedis

/// Entries finished but not yet acknowledged, and when the stream was last trimmed.
struct Acknowledgement {
    private(set) var ids: [String] = []
    private var lastTrim = ContinuousClock.now

    mutating func add(_ finished: [String]) { ids += finished }

    /// XACK for the finished entries, plus XTRIM up to the last of them when a second has passed
    /// since the last trim (trimming is housekeeping: under light load not worth a command per batch).
    func commands(stream: String) -> [[RedisArgument]] {
        guard let last = ids.last else { return [] }
        var commands: [[RedisArgument]] = [["XACK", .init(stream), .init(RedisKeys.dispatcherGroup)] + ids.map { RedisArgument($0) }]
        if ContinuousClock.now - lastTrim >= .seconds(1) { commands.append(["XTRIM", .init(stream), "MINID", "~", .init(last)]) }
        return commands
    }

    mutating func sent(trimmed: Bool) {
        ids.removeAll(keepingCapacity: true)
        if trimmed { lastTrim = .now }
    }
}
