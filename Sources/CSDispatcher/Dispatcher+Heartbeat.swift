import CSCore
import CSRedis
import CSServer
import Metrics

/// What a dispatcher's heartbeat measures besides its counters.
enum DispatcherHeartbeat {
    static let queueDepth = Gauge(label: "cs_queue_waiting")

    /// Stream lag of the partitions this dispatcher owns (entries not yet read by the group), and
    /// the number of conversations waiting for an agent.
    static func collect(redis: RedisClient, configuration: DispatcherConfiguration) async throws {
        let partitions = Array(0..<configuration.partitions)
        var commands: [[RedisArgument]] = partitions.map { ["GET", .init(RedisKeys.lease(partition: $0))] }
        commands.append(["HLEN", .init(RedisKeys.queued)])
        let replies = try await redis.pipeline(commands).checked()
        queueDepth.record(replies.last?.int ?? 0)
        let owned = partitions.filter { replies[$0].string == configuration.dispatcherID }
        // Not checked: a partition nobody wrote to yet has no stream (XINFO answers an error); it lags 0.
        let groups = try await redis.pipeline(owned.map { ["XINFO", "GROUPS", .init(RedisKeys.inbound(partition: $0))] })
        var lag = 0
        for reply in groups {
            for group in reply.array ?? [] where group.fieldMap["name"] == RedisKeys.dispatcherGroup {
                lag += group.fieldMap["lag"].flatMap(Int.init) ?? 0
            }
        }
        configuration.stats.setStreamLag(lag)
    }
}
