import ArgumentParser
import CSCore
import CSRedis
import CSServer
import Foundation

/// Inbound entries the dispatchers gave up on (`cs:{p<N>}:dead`, docs/operations.md "Dead letters").
struct DeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead", abstract: "List and count dead letters: inbound entries the dispatchers could not process.",
        subcommands: [List.self, Count.self])

    /// Options of both subcommands: where Redis is and how many partitions to look at.
    struct Scope: ParsableArguments {
        @OptionGroup var options: AdminOptions
        @Option(help: "Partition count (default: the count recorded in cs:{ops}:partitions).") var partitions: Int?

        func partitionCount(_ redis: RedisClient) async throws -> Int {
            if let partitions { return partitions }
            if let recorded = try await redis.send("GET", .init(RedisKeys.partitionCount)).string.flatMap(Int.init), recorded > 0 {
                return recorded
            }
            throw ValidationError("no partition count recorded in \(RedisKeys.partitionCount): pass --partitions")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest dead letters, of every partition or of one.")
        @OptionGroup var scope: Scope
        @Option(help: "Only this partition.") var partition: Int?
        @Option(help: "How many (1-1000).") var limit: Int = 20

        func validate() throws {
            guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1...1000") }
            if let partition, partition < 0 { throw ValidationError("--partition must be 0 or more") }
        }

        func run() async throws {
            let rows = try await scope.options.withRedis { redis -> [Row] in
                let count = try await scope.partitionCount(redis)
                let partitions: [Int]
                if let partition {
                    guard partition < count else { throw ValidationError("--partition must be below the partition count \(count)") }
                    partitions = [partition]
                } else {
                    partitions = Array(0..<count)
                }
                let replies = try await redis.pipeline(partitions.map { partition in
                    ["XREVRANGE", .init(RedisKeys.deadLetters(partition: partition)), "+", "-", "COUNT", .init(limit)]
                })
                var rows: [Row] = []
                for (partition, reply) in zip(partitions, replies) {
                    if let error = reply.redisError { throw error }
                    for entry in reply.array ?? [] {
                        guard let parts = entry.array, parts.count > 1, let deadID = parts[0].string else { continue }
                        rows.append(Row(partition: partition, deadID: deadID, fields: parts[1].fieldMap))
                    }
                }
                // Newest first across partitions (dead-letter ids are the times they were written).
                return Array(rows.sorted { $0.order > $1.order }.prefix(limit))
            }
            let header = ["PARTITION", "ORIGINAL ID", "KIND", "USER", "CONVERSATION", "ERROR", "ATTEMPTS", "AT"]
            let widths = [10, 16, 9, 16, 28, 40, 9, 24]
            print(Self.line(header, widths))
            for row in rows {
                print(Self.line([
                    String(row.partition), row.fields["id"] ?? "?", row.fields["k"] ?? "", row.fields["u"] ?? "",
                    row.fields["c"] ?? "", Self.clip(row.fields["error"] ?? "", widths[5] - 1), row.fields["attempts"] ?? "", Self.time(row.fields["at"]),
                ], widths))
            }
        }

        struct Row {
            let partition: Int
            let deadID: String
            let fields: [String: String]

            var order: (Int, Int) {
                let parts = deadID.split(separator: "-").compactMap { Int($0) }
                return (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
            }
        }

        static func line(_ cells: [String], _ widths: [Int]) -> String {
            zip(cells, widths).map { cell, width in
                cell.count >= width ? cell + " " : cell + String(repeating: " ", count: width - cell.count)
            }.joined().trimmingCharacters(in: .whitespaces)
        }

        /// `text`, cut to `width` characters (the full error is in the stream: `XRANGE`).
        static func clip(_ text: String, _ width: Int) -> String {
            text.count > width ? String(text.prefix(width - 1)) + "…" : text
        }

        /// `at` (ms) as ISO 8601 UTC.
        static func time(_ milliseconds: String?) -> String {
            guard let milliseconds, let value = Int(milliseconds) else { return milliseconds ?? "" }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.string(from: Date(timeIntervalSince1970: Double(value) / 1000))
        }
    }

    struct Count: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "How many dead letters each partition holds.")
        @OptionGroup var scope: Scope

        func run() async throws {
            let counts = try await scope.options.withRedis { redis -> [Int] in
                let count = try await scope.partitionCount(redis)
                let replies = try await redis.pipeline((0..<count).map { ["XLEN", .init(RedisKeys.deadLetters(partition: $0))] })
                return try replies.map { reply in
                    if let error = reply.redisError { throw error }
                    return reply.int ?? 0
                }
            }
            print("PARTITION DEAD")
            for (partition, count) in counts.enumerated() {
                print(String(partition).padding(toLength: 10, withPad: " ", startingAt: 0) + String(count))
            }
            print("total".padding(toLength: 10, withPad: " ", startingAt: 0) + String(counts.reduce(0, +)))
        }
    }
}
