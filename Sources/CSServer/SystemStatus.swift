import CSCore
import CSRedis

/// What `cs-admin status` prints: processes (heartbeats), partitions, queues, agents and dead
/// letters, read with a few pipelined commands.
public struct SystemStatus: Sendable {
    public struct Process: Sendable {
        public var id: String
        /// Heartbeat hash fields (empty when the hash expired: the process vanished).
        public var fields: [String: String]
        /// Heartbeat expiry (ms) from `cs:{ops}:procs`.
        public var expiresAt: Int
    }

    public struct Partition: Sendable {
        public var number: Int
        public var owner: String?
        public var lag: Int
        public var pending: Int
        public var length: Int
        public var deadLetters: Int
    }

    public var now: Int
    public var processes: [Process]
    public var partitions: [Partition]
    public var queues: [(skill: String, waiting: Int)]
    public var agents: [LiveStats.AgentRow]

    public static func read(redis: RedisClient, now: Int) async throws -> SystemStatus {
        let partitionCount = try await redis.send("GET", .init(RedisKeys.partitionCount)).int ?? 0
        let members = (try await redis.send("ZRANGE", .init(RedisKeys.processes), "0", "-1", "WITHSCORES").array ?? []).compactMap(\.string)
        var ids: [(String, Int)] = []
        for pair in stride(from: 0, to: members.count - 1, by: 2) { ids.append((members[pair], Int(Double(members[pair + 1]) ?? 0))) }
        var commands: [[RedisArgument]] = ids.map { ["HGETALL", .init(RedisKeys.processHeartbeat($0.0))] }
        for n in 0..<partitionCount {
            commands += [
                ["GET", .init(RedisKeys.lease(partition: n))], ["XINFO", "GROUPS", .init(RedisKeys.inbound(partition: n))],
                ["XLEN", .init(RedisKeys.inbound(partition: n))], ["XLEN", .init(RedisKeys.deadLetters(partition: n))],
            ]
        }
        let replies = try await redis.pipeline(commands)
        let processes = ids.enumerated().map { Process(id: $0.element.0, fields: replies[$0.offset].fieldMap, expiresAt: $0.element.1) }
        var partitions: [Partition] = []
        for n in 0..<partitionCount {
            let base = ids.count + n * 4
            let group = (replies[base + 1].array ?? []).first { $0.fieldMap["name"] == RedisKeys.dispatcherGroup }?.fieldMap ?? [:]
            partitions.append(Partition(
                number: n, owner: replies[base].string, lag: group["lag"].flatMap(Int.init) ?? 0,
                pending: group["pending"].flatMap(Int.init) ?? 0, length: replies[base + 2].int ?? 0, deadLetters: replies[base + 3].int ?? 0))
        }
        let live = try await LiveStats.read(redis: redis, now: now)
        return SystemStatus(now: now, processes: processes, partitions: partitions, queues: live.queues, agents: live.agents)
    }
}
