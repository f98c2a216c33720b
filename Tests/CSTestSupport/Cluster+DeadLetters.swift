import CSCore
import Foundation

/// Reading a partition's dead letters (`cs:{p<N>}:dead`, docs/operations.md "Dead letters").
extension Cluster {
    /// One stream entry as `redis-cli --raw` shows it: its id and its fields (no value may
    /// contain a newline).
    public struct StreamEntry: Sendable, CustomStringConvertible {
        public let id: String
        public let fields: [String: String]
        public var description: String { "\(id) \(fields.sorted { $0.key < $1.key })" }
    }

    /// Every entry of stream `key`, oldest first, read one at a time (`XRANGE … COUNT 1`) so that
    /// the flat `--raw` output is unambiguous.
    public func streamEntries(_ key: String, limit: Int = 1000) async throws -> [StreamEntry] {
        var entries: [StreamEntry] = []
        var start = "-"
        while entries.count < limit {
            let lines = try await redisCommand(["XRANGE", key, start, "+", "COUNT", "1"])
            guard let id = lines.first, !id.isEmpty else { break }
            var fields: [String: String] = [:]
            var index = 1
            while index + 1 < lines.count {
                fields[lines[index]] = lines[index + 1]
                index += 2
            }
            entries.append(StreamEntry(id: id, fields: fields))
            start = "(" + id
        }
        return entries
    }

    /// The dead letters of `partition`, oldest first.
    public func deadLetters(partition: Int) async throws -> [StreamEntry] {
        try await streamEntries(RedisKeys.deadLetters(partition: partition))
    }

    /// How many entries of partition `partition` were read by a dispatcher and not acknowledged.
    public func pendingCount(partition: Int) async throws -> Int {
        let lines = try await redisCommand(["XPENDING", RedisKeys.inbound(partition: partition), RedisKeys.dispatcherGroup])
        return lines.first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? -1
    }
}
